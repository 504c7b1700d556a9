"""`hour`: the hour of day (0-23) of a datetime column, in the column's declared zone: an hour
of day means the producer's hour."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ct_assets.ml.transforms import register
from ct_assets.ml.transforms.base import NAN, FrameColumn, RowColumn, RowFunction, Transform

if TYPE_CHECKING:
    import pandas as pd


class Hour(Transform):
    READS = "datetime"
    CONSTANT_WITHIN = timedelta(hours=1)
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "t_hour", "op": "hour", "column": "t"},
    )
    op: Literal["hour"] = Field(
        description="The hour of day (0-23) in the column's declared time zone."
    )
    column: str = Field(description="The datetime column read.")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.column,)

    def frame(self, column: FrameColumn) -> pd.Series:
        return column(self.column).dt.hour.astype(float)

    def row(self, column: RowColumn) -> RowFunction:
        get = column(self.column)
        return lambda v: _hour(get(v))


def _hour(moment: datetime | None) -> float:
    return NAN if moment is None else float(moment.hour)


register(Hour)
