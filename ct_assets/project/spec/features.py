"""`features`: what a model reads: declared columns, transforms of a row, window features."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator, model_validator

from ct_assets.project.spec.base import Strict, duration_text


class _Transform(Strict):
    name: str


class Log1p(_Transform):
    op: Literal["log1p"]
    column: str


class Clip(_Transform):
    op: Literal["clip"]
    column: str
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Clip:
        if self.lower is None and self.upper is None:
            raise ValueError("clip needs lower, upper or both")
        return self


class Hour(_Transform):
    op: Literal["hour"]
    column: str


class DayOfWeek(_Transform):
    op: Literal["day_of_week"]
    column: str


class Ratio(_Transform):
    op: Literal["ratio"]
    columns: tuple[str, str]


Transform = Annotated[Log1p | Clip | Hour | DayOfWeek | Ratio, Field(discriminator="op")]
# Each transform's `op` is its one Literal: the list of ops is read from the models.
TRANSFORM_OPS: tuple[str, ...] = tuple(
    get_args(model.model_fields["op"].annotation)[0] for model in get_args(get_args(Transform)[0])
)
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
