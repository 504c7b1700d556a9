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
from ct_assets.project.spec.base import Strict, duration_text

# The transforms are a registry (`ct_assets/ml/transforms/`): the union ct.yaml is validated
# against is built from it, discriminated by `op`.
if TYPE_CHECKING:
    Transform: TypeAlias = TransformBase
else:
    Transform = Annotated[Union[transforms.classes()], Field(discriminator="op")]  # noqa: UP007
TRANSFORM_OPS: tuple[str, ...] = transforms.ops()
AGGREGATIONS = ("count", "sum", "mean", "std", "min", "max", "last", "time_since_last")


class WindowGroup(Strict):
    """Aggregates of one numeric column of the entity's earlier events, per window."""

    column: str
    aggregations: list[Literal[AGGREGATIONS]]  # type: ignore[valid-type]
    windows: list[str]

    @field_validator("windows")
    @classmethod
    def _durations(cls, values: list[str]) -> list[str]:
        for value in values:
            duration_text(value)
        return values


class Windows(Strict):
    # An event at exactly the same time counts as "before" only when inclusive.
    inclusive: bool = False
    aggregates: list[WindowGroup] = []


class Features(Strict):
    # Declared columns the model reads as they are (numbers, booleans, category codes).
    columns: list[str] = []
    transforms: list[Transform] = []
    windows: Windows = Windows()


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
    "WindowGroup",
    "Windows",
]
