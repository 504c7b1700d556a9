"""`day_of_week`: Monday 0 to Sunday 6, of a datetime column in the column's declared zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ct_assets.ml.transforms import register
from ct_assets.ml.transforms.base import NAN, FrameColumn, RowColumn, RowFunction, Transform

if TYPE_CHECKING:
    import pandas as pd


class DayOfWeek(Transform):
    READS = "datetime"
    CONSTANT_WITHIN = timedelta(days=1)
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "t_day", "op": "day_of_week", "column": "t"},
    )
    op: Literal["day_of_week"] = Field(
        description="The day of week, Monday 0 to Sunday 6, in the column's declared time zone."
    )
    column: str = Field(description="The datetime column read.")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.column,)

    def frame(self, column: FrameColumn) -> pd.Series:
        return column(self.column).dt.dayofweek.astype(float)

    def row(self, column: RowColumn) -> RowFunction:
        get = column(self.column)
        return lambda v: _weekday(get(v))


def _weekday(moment: datetime | None) -> float:
    return NAN if moment is None else float(moment.weekday())


register(DayOfWeek)
