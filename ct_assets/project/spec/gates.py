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
    columns: list[str] = Field(
        default=[],
        description="Columns whose groups are judged apart (category, bool, int or string "
        "columns): a candidate may not lose more than the tolerance on any group.",
    )
    min_rows: int = Field(
        default=100,
        ge=1,
        description="Slices with fewer holdout rows are listed but not judged: their metric "
        "would be noise.",
    )
    tolerance: Threshold | None = Field(
        default=None,
        description="How much worse than the champion a candidate may be on one slice: a "
        "number, or a percentage of the champion's value; the default depends on the task.",
    )


class ServingBudget(Strict):
    latency_ms_p95: float = Field(
        default=50.0,
        gt=0,
        description="A candidate must predict one row within this many milliseconds (95th "
        "percentile).",
    )
    size_mb: float = Field(
        default=100.0, gt=0, description="A candidate's model may be at most this many MB."
    )


BOUND = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=)\s*(-?[0-9.eE+-]+)\s*$")


class Gates(Strict):
    floors: list[str] | None = Field(
        default=None,
        description="Bounds on the best candidate's holdout metrics, each from the metric's bad "
        "side, e.g. roc_auc >= 0.6 or rmse <= 3; the default depends on the task.",
    )
    margin: Threshold | None = Field(
        default=None,
        description="How much better than the champion's holdout metric a candidate must be: "
        "a number in the metric's units, or a percentage of the champion's value; the default "
        "depends on the task.",
    )
    slices: Slices = Field(
        default=Slices(), description="Groups of the holdout a candidate is judged on apart."
    )
    serving: ServingBudget = Field(
        default=ServingBudget(), description="The latency and size budgets a candidate must fit."
    )

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
