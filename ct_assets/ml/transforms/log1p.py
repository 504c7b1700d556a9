"""`log1p`: log(1 + x) of a numeric column, for amounts spread over orders of magnitude."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ct_assets.ml.transforms import register
from ct_assets.ml.transforms.base import NAN, FrameColumn, RowColumn, RowFunction, Transform

if TYPE_CHECKING:
    import pandas as pd


class Log1p(Transform):
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "log_x", "op": "log1p", "column": "x"},
    )
    op: Literal["log1p"] = Field(
        description="log(1 + x), for amounts spread over orders of magnitude; missing at or "
        "below -1."
    )
    column: str = Field(description="The numeric column read.")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.column,)

    def frame(self, column: FrameColumn) -> pd.Series:
        import numpy as np
        import pandas as pd

        values = column(self.column)
        # log1p of a value at or below -1 has no meaning: missing, not -inf or a warning.
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.Series(np.log1p(values.where(values > -1)), index=values.index)

    def row(self, column: RowColumn) -> RowFunction:
        get = column(self.column)
        return lambda v: _log1p(get(v))


def _log1p(x: float) -> float:
    # As over a frame: at or below -1 (and missing) the feature is missing.
    return math.log1p(x) if x > -1 else NAN


register(Log1p)
