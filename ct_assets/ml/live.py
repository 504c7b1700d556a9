"""The closed loop's figures: how the models that serve do on labels they never trained on.

Pure: the champion's prequential ("test then train") score on each new labeled partition, its
baking period, the served predictions joined to their delayed labels, and the per-version
summary that live monitoring shows. No Dagster or MLflow import.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml.vocabulary import METRIC

NAN = float("nan")
NONE = "none"
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


def read_labels(frame: pd.DataFrame, label: str, what: str) -> pd.DataFrame:
    """A delayed-label file as (request_id, row, label); raises ValueError naming the problem."""
    missing = [c for c in (REQUEST_ID, label) if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: no column {', '.join(missing)} (columns: {list(frame.columns)})")
    out = pd.DataFrame({REQUEST_ID: frame[REQUEST_ID].astype(str)})
    if ROW in frame.columns:
        rows = pd.to_numeric(frame[ROW], errors="coerce")
        bad = np.flatnonzero(rows.isna().to_numpy() | (rows % 1 != 0).to_numpy())
        if len(bad):
            raise ValueError(f"{what}: row {int(bad[0])}, column {ROW}: not a whole number")
        out[ROW] = rows.astype("int64")
    else:
        out[ROW] = 0
    out["label"] = frame[label].to_numpy()
    empty = np.flatnonzero(out["label"].isna().to_numpy() | (out[REQUEST_ID] == "").to_numpy())
    if len(empty):
        raise ValueError(f"{what}: row {int(empty[0])}: request_id or {label} is empty")
    return out


def join_labels(answers: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Logged answers with their labels, by (request_id, row); a label given twice counts once
    (the last file wins: a correction)."""
    latest = labels.drop_duplicates([REQUEST_ID, ROW], keep="last")
    keyed = answers.astype({REQUEST_ID: str, ROW: "int64"})
    return keyed.merge(latest, on=[REQUEST_ID, ROW], how="inner")


def per_version(
    joined: pd.DataFrame, metric: str, by: Sequence[str] = ("model_version",)
) -> dict[str, dict[str, Any]]:
    """The metric and row count of each model version (or version and route) on labeled rows."""
    out: dict[str, dict[str, Any]] = {}
    if joined.empty:
        return out
    for key, group in joined.groupby(list(by), sort=True):
        name = "/".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        labels = group["label"].to_numpy(dtype=float)
        out[name] = {
            "rows": len(group),
            metric: measured(metric, labels, group["output"].to_numpy(dtype=float)),
        }
    return out


LIVE_COLUMNS = (
    "version",
    "partition",
    "prequential",
    "prequential_rows",
    "served",
    "served_rows",
    "baseline",
)


def live_table(
    champion: Mapping[str, Mapping[str, Any]],
    served: Mapping[str, Mapping[str, Any]],
    metric: str,
) -> pd.DataFrame:
    """One row per (version, partition): the prequential and the served metric, the baseline.

    `champion`: partition -> champion_performance figures; `served`: partition -> {version:
    {"rows", metric}}.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(version: str, partition: str) -> dict[str, Any]:
        empty = {"prequential": NAN, "prequential_rows": 0, "served": NAN, "served_rows": 0}
        return rows.setdefault(
            (version, partition),
            {"version": version, "partition": partition, **empty, "baseline": NAN},
        )

    for partition, figures in champion.items():
        version = str(figures.get("champion_version", NONE))
        if version == NONE:
            continue
        r = row(version, partition)
        r["prequential"] = figures.get(f"champion_{metric}", NAN)
        r["prequential_rows"] = figures.get("rows", 0)
        r["baseline"] = figures.get(f"baseline_{metric}", NAN)
        previous = str(figures.get("previous_version", NONE))
        if figures.get("baking") and previous != NONE:
            p = row(previous, partition)
            p["prequential"] = figures.get(f"previous_{metric}", NAN)
            p["prequential_rows"] = figures.get("rows", 0)
    for partition, versions in served.items():
        for version, figures in versions.items():
            r = row(str(version), partition)
            r["served"] = figures.get(metric, NAN)
            r["served_rows"] = figures.get("rows", 0)
    table = pd.DataFrame(list(rows.values()), columns=LIVE_COLUMNS)
    if table.empty:
        return table
    # Versions ordered as numbers (v10 after v9), then partitions in time order.
    order = pd.to_numeric(table["version"], errors="coerce")
    return (
        table.assign(_order=order)
        .sort_values(["_order", "version", "partition"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
