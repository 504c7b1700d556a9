"""`features`: what a model reads: declared columns, transforms of a row, window features."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias, Union

from pydantic import Field, field_validator

from ct_assets.ml import transforms
from ct_assets.ml.transforms.base import Transform as TransformBase
from ct_assets.ml.transforms.clip import Clip
from ct_assets.ml.transforms.day_of_week import DayOfWeek
from ct_assets.ml.transforms.hour import Hour
from ct_assets.ml.transforms.log1p import Log1p
from ct_assets.ml.transforms.ratio import Ratio
from ct_assets.project.spec.base import Duration, Strict, duration_text

# The transforms are a registry (`ct_assets/ml/transforms/`): the union ct.yaml is validated
# against is built from it, discriminated by `op`.
if TYPE_CHECKING:
    Transform: TypeAlias = TransformBase
else:
    Transform = Annotated[Union[transforms.classes()], Field(discriminator="op")]  # noqa: UP007
TRANSFORM_OPS: tuple[str, ...] = transforms.ops()
AGGREGATIONS = ("count", "sum", "mean", "std", "min", "max", "last", "time_since_last")


class WindowAggregates(Strict):
    """Aggregates of one numeric column of the entity's earlier events, per window."""

    column: str = Field(description="The numeric column aggregated (not the label).")
    aggregations: list[Literal[AGGREGATIONS]] = Field(  # type: ignore[valid-type]
        description="What is computed over the entity's earlier events in each window; each "
        "pair is one feature, named column_aggregation_window (amount_sum_7d)."
    )
    windows: list[Duration] = Field(
        description="How far back each window reaches from the event (e.g. 1h, 1d, 7d)."
    )

    @field_validator("windows")
    @classmethod
    def _durations(cls, values: list[str]) -> list[str]:
        for value in values:
            duration_text(value)
        return values


class WindowFeatures(Strict):
    inclusive: bool = Field(
        default=False,
        description="Whether an earlier event at exactly the same time counts as before the event.",
    )
    aggregates: list[WindowAggregates] = Field(
        default=[],
        description="Per-entity aggregates of a numeric column over time windows (needs "
        "dataset.roles.entity).",
    )


class Features(Strict):
    columns: list[str] = Field(
        default=[],
        description="Declared columns the model reads as they are (numbers, booleans, category "
        "codes); not the label, the event time or the event id.",
    )
    transforms: list[Transform] = Field(
        default=[],
        description="Features computed from one event's columns, each named by `name` and "
        f"computed by `op` ({', '.join(TRANSFORM_OPS)}).",
    )
    windows: WindowFeatures = Field(
        default=WindowFeatures(), description="Features over each entity's earlier events."
    )


__all__ = [
    "AGGREGATIONS",
    "TRANSFORM_OPS",
    "Clip",
    "DayOfWeek",
    "Features",
    "Hour",
    "Log1p",
    "Ratio",
    "Transform",
    "WindowAggregates",
    "WindowFeatures",
]
