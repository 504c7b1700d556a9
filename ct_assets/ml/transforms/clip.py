"""`clip`: a numeric column bounded to [lower, upper], so a few extreme values do not dominate."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ct_assets.ml.transforms import register
from ct_assets.ml.transforms.base import FrameColumn, RowColumn, RowFunction, Transform

if TYPE_CHECKING:
    import pandas as pd


class Clip(Transform):
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "x_clipped", "op": "clip", "column": "x", "lower": -1.5, "upper": 2.0},
        {"name": "x_floor", "op": "clip", "column": "x", "lower": 0},
        {"name": "x_cap", "op": "clip", "column": "x", "upper": 1},
    )
    op: Literal["clip"] = Field(
        description="A numeric column bounded to [lower, upper], so a few extreme values do not "
        "dominate."
    )
    column: str = Field(description="The numeric column bounded.")
    lower: float | None = Field(
        default=None, description="Values below it become it; unset: no lower bound."
    )
    upper: float | None = Field(
        default=None, description="Values above it become it; unset: no upper bound."
    )

    @model_validator(mode="after")
    def _bounded(self) -> Clip:
        if self.lower is None and self.upper is None:
            raise ValueError("clip needs lower, upper or both")
        return self

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.column,)

    def frame(self, column: FrameColumn) -> pd.Series:
        return column(self.column).clip(lower=self.lower, upper=self.upper)

    def row(self, column: RowColumn) -> RowFunction:
        get, lower, upper = column(self.column), self.lower, self.upper
        return lambda v: _clip(get(v), lower, upper)


def _clip(x: float, lower: float | None, upper: float | None) -> float:
    if math.isnan(x):
        return x
    if lower is not None and x < lower:
        x = lower
    if upper is not None and x > upper:
        x = upper
    return float(x)


register(Clip)
