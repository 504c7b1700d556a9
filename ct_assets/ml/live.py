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

from ct_assets.ml.records import LiveScore
from ct_assets.ml.vocabulary import BINARY, METRIC
from ct_assets.project.spec import Threshold

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
    champion: Mapping[str, LiveScore],
    served: Mapping[str, Mapping[str, Any]],
    metric: str,
) -> pd.DataFrame:
    """One row per (version, partition): the prequential and the served metric, the baseline.

    `champion`: partition -> its champion_performance record; `served`: partition -> {version:
    {"rows", metric}}.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(version: str, partition: str) -> dict[str, Any]:
        empty = {"prequential": NAN, "prequential_rows": 0, "served": NAN, "served_rows": 0}
        return rows.setdefault(
            (version, partition),
            {"version": version, "partition": partition, **empty, "baseline": NAN},
        )

    for partition, score in champion.items():
        version = score.champion_version
        if version is None:
            continue
        r = row(version, partition)
        r["prequential"] = score.champion
        r["prequential_rows"] = score.rows
        r["baseline"] = score.baseline
        if score.baking and score.previous_version is not None:
            p = row(score.previous_version, partition)
            p["prequential"] = score.previous
            p["prequential_rows"] = score.rows
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


# -- verdicts on a champion's live figures ------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One judgement of a live partition: whether it was judged, passed, and why, in words."""

    judged: bool
    passed: bool
    text: str
    figures: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.judged and not self.passed


def not_judged(why: str) -> Verdict:
    return Verdict(False, True, f"not judged: {why}", {})


def _shown(value: float) -> str:
    return f"{value:.4g}"


def degradation(
    metric: str, version: str, live: float, baseline: float, margin: Threshold
) -> Verdict:
    """The champion's live metric against its holdout figure at promotion: worse by more than
    the margin (relative margins are of that figure) is a live degradation, whatever the retrain
    policy does about it."""
    worse = worse_by(metric, live, baseline)
    if not math.isfinite(worse):
        return not_judged(f"no live {metric} or baseline for v{version}")
    bound = margin.absolute(baseline)
    figures = {"live": live, "baseline": baseline, "worse_by": worse, "margin": round(bound, 6)}
    word = "below" if METRIC[metric].higher_is_better else "above"
    if worse > bound:
        text = (
            f"v{version}'s live {metric} {_shown(live)} is {_shown(worse)} {word} its holdout "
            f"{_shown(baseline)} (margin {_shown(bound)}): the world it learnt has changed, or "
            "its evaluation did not predict it"
        )
        return Verdict(True, False, text, figures)
    text = (
        f"v{version}'s live {metric} {_shown(live)} holds against its holdout {_shown(baseline)} "
        f"(margin {_shown(bound)})"
    )
    return Verdict(True, True, text, figures)


def evaluation_gap(
    metric: str,
    version: str,
    live: float,
    baseline: float,
    gap: Threshold,
    live_index: int | None,
    first: int,
) -> Verdict:
    """Whether the holdout that promoted the champion predicted its first `first` live
    partitions: short of it by more than `gap` is an evaluation that misled."""
    if live_index is None:
        return not_judged(f"v{version} has no recorded promotion to count its live partitions from")
    if live_index >= first:
        return not_judged(
            f"v{version}'s live partition {live_index + 1}: the gap is judged on its first {first}"
        )
    worse = worse_by(metric, live, baseline)
    if not math.isfinite(worse):
        return not_judged(f"no live {metric} or baseline for v{version}")
    bound = gap.absolute(baseline)
    figures = {
        "live": live,
        "baseline": baseline,
        "gap": worse,
        "allowed_gap": round(bound, 6),
        "live_partition": live_index + 1,
    }
    where = f"its live partition {live_index + 1} of the first {first}"
    if worse > bound:
        text = (
            f"v{version}'s holdout {metric} {_shown(baseline)} did not predict {where}: "
            f"{_shown(live)} live, a gap of {_shown(worse)} > {_shown(bound)}"
        )
        return Verdict(True, False, text, figures)
    text = (
        f"v{version}'s holdout {metric} {_shown(baseline)} predicted {where}: {_shown(live)} "
        f"live (gap {_shown(worse)} <= {_shown(bound)})"
    )
    return Verdict(True, True, text, figures)


def label_shift(
    task: str, labels: np.ndarray, train_mean: float, train_std: float, threshold: float
) -> Verdict:
    """The partition's label rate (binary) or mean (regression) against the champion's training
    rows: a prior shift. Measured as an effect size, so a large day and a small one are judged
    alike: Cohen's h for a rate, the difference in training standard deviations for a mean."""
    if len(labels) == 0 or not math.isfinite(train_mean):
        return not_judged("no labels, or no training label figures on the champion")
    now = float(np.mean(labels))
    if task == BINARY:
        effect = abs(
            2 * math.asin(math.sqrt(min(max(now, 0.0), 1.0)))
            - 2 * math.asin(math.sqrt(min(max(train_mean, 0.0), 1.0)))
        )
        what, measure = "positive rate", "Cohen's h"
    else:
        if not (math.isfinite(train_std) and train_std > 0):
            return not_judged("the champion's training labels do not vary")
        effect = abs(now - train_mean) / train_std
        what, measure = "label mean", "training standard deviations"
    figures = {
        "label_rate": round(now, 6),
        "training_label_rate": round(train_mean, 6),
        "effect": round(effect, 4),
        "threshold": threshold,
    }
    moved = f"{what} {_shown(now)} vs {_shown(train_mean)} in the champion's training rows"
    if effect > threshold:
        return Verdict(
            True, False, f"{moved}: moved by {effect:.2f} {measure} (> {threshold:g})", figures
        )
    return Verdict(True, True, f"{moved} ({effect:.2f} {measure} <= {threshold:g})", figures)


def likely_causes(
    importance: Mapping[str, float],
    calendar: Sequence[str],
    partition_constant: Sequence[str],
    top: int = 3,
) -> str:
    """What the champion leaned on where its holdout misled, in words: the features that carry
    most of its importance here, and which of them are calendar features or constant within
    the partition (features that can name a partition instead of describing an event)."""
    positive = {k: v for k, v in importance.items() if v > 0}
    total = sum(positive.values())
    if total <= 0:
        return "no feature carries importance on these rows"
    ranked = sorted(positive, key=lambda k: -positive[k])[:top]
    parts = []
    for name in ranked:
        notes = []
        if name in calendar:
            notes.append("a calendar feature")
        if name in partition_constant:
            notes.append("constant within this partition")
        extra = f", {' and '.join(notes)}" if notes else ""
        parts.append(f"{name} ({positive[name] / total:.0%}{extra})")
    flagged = [n for n in ranked if n in calendar or n in partition_constant]
    hint = (
        f"; {', '.join(flagged)} can name the partition rather than describe the event: leave "
        "it out (remove it from training.selection.force)"
        if flagged
        else ""
    )
    return "the model leans on " + ", ".join(parts) + hint


@dataclass(frozen=True)
class LiveJudgement:
    """Every verdict on one scored partition: live degradation, the evaluation gap (first live
    partitions only), the prior shift; and, where the gap failed, what the model leaned on."""

    live: Verdict
    gap: Verdict
    shift: Verdict
    live_index: int | None = None
    causes: str = ""

    @classmethod
    def none(cls, why: str) -> LiveJudgement:
        skipped = not_judged(why)
        return cls(skipped, skipped, skipped)

    def with_causes(self, causes: str) -> LiveJudgement:
        gap = self.gap
        if gap.failed:
            gap = Verdict(gap.judged, gap.passed, f"{gap.text}; {causes}", gap.figures)
        return LiveJudgement(self.live, gap, self.shift, self.live_index, causes)

    def record(self, score: ChampionScore) -> LiveScore:
        """What the sensors, the candidates and the commands read of this partition."""
        return LiveScore(
            metric=score.metric,
            rows=score.rows,
            champion_version=None if score.champion_version == NONE else score.champion_version,
            previous_version=None if score.previous_version == NONE else score.previous_version,
            baking=score.baking,
            champion=score.champion,
            previous=score.previous,
            baseline=score.baseline,
            worse_than_baseline_by=worse_by(score.metric, score.champion, score.baseline),
            worse_than_previous_by=(
                worse_by(score.metric, score.champion, score.previous) if score.baking else NAN
            ),
            live_degraded=self.live.failed,
            gap_exceeded=self.gap.failed,
            label_shifted=self.shift.failed,
            note=score.note,
        )

    def figures(self) -> dict[str, Any]:
        return {
            LIVE_DEGRADED: self.live.failed,
            GAP_EXCEEDED: self.gap.failed,
            LABEL_SHIFTED: self.shift.failed,
            "live_partition": -1 if self.live_index is None else self.live_index + 1,
            "label_rate": self.shift.figures.get("label_rate", NAN),
            "gap_causes": self.causes or "none",
        }
