"""`ratio`: one numeric column over another; a zero denominator is missing, not infinite (trees
and scalers both choke on inf)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ct_assets.ml.transforms import register
from ct_assets.ml.transforms.base import NAN, FrameColumn, RowColumn, RowFunction, Transform

if TYPE_CHECKING:
    import pandas as pd


class Ratio(Transform):
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "x_per_y", "op": "ratio", "columns": ["x", "y"]},
    )
    op: Literal["ratio"] = Field(
        description="One numeric column over another; missing where the denominator is zero."
    )
    columns: tuple[str, str] = Field(
        description="The numerator and the denominator, two numeric columns."
    )

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def frame(self, column: FrameColumn) -> pd.Series:
        import numpy as np

        top, bottom = (column(c) for c in self.columns)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (top / bottom.where(bottom != 0)).astype(float)

    def row(self, column: RowColumn) -> RowFunction:
        top, bottom = (column(c) for c in self.columns)
        return lambda v: _ratio(top(v), bottom(v))


def _ratio(top: float, bottom: float) -> float:
    if bottom == 0 or math.isnan(bottom) or math.isnan(top):
        return NAN
    return top / bottom


register(Ratio)
