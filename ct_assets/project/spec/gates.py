"""`gates`: what a candidate must clear to be promoted (floors, margin, slices, serving)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from ct_assets.ml.vocabulary import (
    METRIC,
)
from ct_assets.project.spec.base import Strict, Threshold


class Slices(Strict):
    columns: list[str] = []
    # Slices with fewer holdout rows are listed but not judged: their metric would be noise.
    min_rows: int = Field(default=100, ge=1)
    tolerance: Threshold | None = None


class Serving(Strict):
    latency_ms_p95: float = Field(default=50.0, gt=0)
    size_mb: float = Field(default=100.0, gt=0)


BOUND = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=)\s*(-?[0-9.eE+-]+)\s*$")


class Gates(Strict):
    # Absolute bounds on holdout metrics of the best candidate, e.g. "roc_auc >= 0.6".
    floors: list[str] | None = None
    margin: Threshold | None = None
    slices: Slices = Slices()
    serving: Serving = Serving()

    @field_validator("floors", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p for p in (s.strip() for s in value.split(",")) if p]
        return value

    @field_validator("floors")
    @classmethod
    def _bounds(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if not BOUND.match(value):
                raise ValueError(f"{value!r} is not a bound such as roc_auc >= 0.6 or rmse <= 3")
        return values


def check_floor(where: str, name: str, op: str, value: float) -> None:
    """A floor bounds a metric from its bad side, inside the values the metric can take."""
    metric = METRIC[name]
    if metric.higher_is_better is True and op == "<=":
        raise ValueError(
            f"{where}: {name} <= {value:g} bounds it from above, but higher is better: a floor "
            f"is {name} >= {value:g}"
        )
    if metric.higher_is_better is False and op == ">=":
        raise ValueError(
            f"{where}: {name} >= {value:g} bounds it from below, but lower is better: a floor "
            f"is {name} <= {value:g}"
        )
    if op == ">=" and metric.high is not None and value > metric.high:
        raise ValueError(
            f"{where}: no model can meet {name} >= {value:g}: {name} is at most {metric.high:g}"
        )
    if op == "<=" and metric.low is not None and value < metric.low:
        raise ValueError(
            f"{where}: no model can meet {name} <= {value:g}: {name} is at least {metric.low:g}"
        )
