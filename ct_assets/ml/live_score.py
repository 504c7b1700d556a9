"""The champion's prequential ("test then train") score on a labeled partition: the metric on
its rows against its holdout baseline, whether it is still baking, and how many partitions it
has been live. Pure: no Dagster or MLflow import."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ct_assets.ml.vocabulary import METRIC

NAN = float("nan")
NONE = "none"
# champion_performance's verdicts in its metadata, read back by the candidates (where did live
# performance break?), the rollback sensor and status.
LIVE_DEGRADED = "live_degraded"
GAP_EXCEEDED = "evaluation_gap_exceeded"
LABEL_SHIFTED = "label_shifted"
# Delayed-label files: the request id and the row of the request each label belongs to.
REQUEST_ID, ROW = "request_id", "row"


def value_or_nan(value: float | None) -> float:
    return NAN if value is None or not math.isfinite(value) else round(float(value), 6)


def worse_by(metric: str, value: float, reference: float) -> float:
    """How much worse `value` is than `reference` (positive: worse), whichever way the metric
    points; NaN when either is unknown."""
    if not (math.isfinite(value) and math.isfinite(reference)):
        return NAN
    return round(float(METRIC[metric].improvement(reference, value)), 6)


def measured(metric: str, labels: np.ndarray, predicted: np.ndarray) -> float:
    """The metric on some rows; NaN where it is undefined (no rows, a single class)."""
    # Imported here: scikit-learn is loaded by the steps that score, not with the code location.
    from ct_assets.ml.evaluation import metric_value

    if len(labels) == 0:
        return NAN
    return value_or_nan(metric_value(metric, np.asarray(labels), np.asarray(predicted)))


def scored_since(
    scored: Iterable[tuple[str, str, float]], version: str, since: float, partition: str
) -> int:
    """Partitions (other than `partition`) scored by `version` after `since` (epoch seconds).

    `scored` is (partition, champion version, timestamp) of champion_performance records.
    """
    return len({p for p, v, at in scored if v == version and at >= since and p != partition})


def is_baking(
    move: Mapping[str, Any] | None,
    scored: Iterable[tuple[str, str, float]],
    version: str,
    partition: str,
    baking_partitions: int,
) -> bool:
    """A champion promoted over another one bakes until it has scored enough partitions.

    A first champion replaced nothing (no comparison to make); a rollback restores a version
    already trusted.
    """
    if not move or move.get("kind", "promote") != "promote" or not move.get("from"):
        return False
    since = datetime.fromisoformat(str(move["at"])).timestamp()
    return scored_since(scored, version, since, partition) < baking_partitions


@dataclass(frozen=True)
class ChampionScore:
    """The champion (and, while it bakes, the one it replaced) on one labeled partition."""

    metric: str
    rows: int
    champion_version: str
    previous_version: str
    baking: bool
    champion: float
    previous: float
    baseline: float
    note: str = ""

    def figures(self) -> dict[str, Any]:
        m = self.metric
        return {
            "champion_version": self.champion_version,
            "previous_version": self.previous_version,
            "baking": self.baking,
            "rows": self.rows,
            "metric": m,
            f"champion_{m}": self.champion,
            f"previous_{m}": self.previous,
            f"baseline_{m}": self.baseline,
            "worse_than_baseline_by": worse_by(m, self.champion, self.baseline),
            "worse_than_previous_by": (
                worse_by(m, self.champion, self.previous) if self.baking else NAN
            ),
        }


def unscored(metric: str, rows: int, note: str) -> ChampionScore:
    """No champion yet (or none that can read these features): figures without scores."""
    return ChampionScore(metric, rows, NONE, NONE, False, NAN, NAN, NAN, note)
