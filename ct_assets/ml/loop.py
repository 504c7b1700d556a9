"""The closed loop's decisions: when to retrain, and when to move the champion back.

Pure functions of the declared policy and of what the pipeline recorded (the stages' typed
records, `ml.records`), so each rule is tested alone and sensors are only wiring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ct_assets.ml.records import DriftSummary, LiveScore
from ct_assets.ml.vocabulary import METRIC
from ct_assets.project.spec import Policy, Rollback

NONE = "none"
NO_CHAMPION = "no_champion"


class RetrainReason(NamedTuple):
    """One trigger that fired for a partition: its kind (drift | performance) and why, in words."""

    trigger: str
    text: str


@dataclass(frozen=True)
class RollbackDecision:
    rollback: bool
    reason: str


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _rows(value: Any) -> float:
    number = _number(value)
    return 0.0 if math.isnan(number) else max(number, 0.0)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _both(score: LiveScore, metric: str, champion: str, previous: str) -> bool:
    """Whether a partition scored this champion and the one it replaced, on the same rows."""
    return (
        score.metric == metric
        and score.champion_version == champion
        and score.previous_version == previous
        and not math.isnan(score.worse_than_previous_by)
    )


def _worse_word(metric: str) -> str:
    return "below" if METRIC[metric].higher_is_better is not False else "above"


def drift_reason(policy: Policy, drift: DriftSummary | None) -> RetrainReason | None:
    """Drift: the share of drifted features at or above `policy.retrain.drift_share`."""
    if drift is None:
        return None
    share = drift.share
    bound = policy.retrain.drift_share
    if not share >= bound:  # NaN (unknown) never triggers
        return None
    drifted = ", ".join(drift.drifted) or "none"
    return RetrainReason(
        "drift", f"drift share {share:.2f} reaches {bound:.2f} (drifted: {drifted})"
    )


def performance_reason(
    policy: Policy, metric: str, live_score: LiveScore | None
) -> RetrainReason | None:
    """Performance: the champion's live metric worse than its holdout at promotion by more than
    `policy.retrain.performance_margin` (relative margins are of that holdout figure)."""
    if live_score is None or live_score.metric != metric:
        return None
    version = live_score.champion_version
    worse, baseline, live = (
        live_score.worse_than_baseline_by,
        live_score.baseline,
        live_score.champion,
    )
    if version is None or math.isnan(worse) or math.isnan(baseline):
        return None
    margin = policy.retrain.performance_margin.absolute(baseline)
    if not worse > margin:
        return None
    return RetrainReason(
        "performance",
        f"{metric} {_fmt(live)} is {_fmt(worse)} {_worse_word(metric)} the champion "
        f"v{version}'s holdout {_fmt(baseline)} (margin {_fmt(margin)})",
    )


def retrain_reasons(
    policy: Policy,
    metric: str,
    drift: DriftSummary | None,
    live_score: LiveScore | None,
) -> list[RetrainReason]:
    """Every trigger the policy lists that fired for one partition (empty: no retrain).

    `every_partition` is automation's: a partition it retrains needs no second reason.
    """
    on = policy.retrain.triggers
    if "every_partition" in on:
        return []
    if live_score is not None and live_score.champion_version is None:
        # Whatever the triggers, a project without a champion trains until it has one.
        return [RetrainReason(NO_CHAMPION, "no champion yet: a first model is trained")]
    found = [
        drift_reason(policy, drift) if "drift" in on else None,
        performance_reason(policy, metric, live_score) if "performance" in on else None,
    ]
    return [r for r in found if r is not None]


def _mean(values: Sequence[float], weights: Sequence[float]) -> float:
    total = sum(weights)
    if total <= 0:
        return sum(values) / len(values)
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total


def _worse_by(metric: str, champion: float, previous: float) -> float:
    """How much worse the champion is than the previous champion (positive = worse)."""
    return float(METRIC[metric].improvement(previous, champion))


def partitions_evidence(
    rollback: Rollback,
    metric: str,
    champion: str,
    previous: str,
    performance: Sequence[tuple[str, LiveScore]],
) -> tuple[float, str, float] | None:
    """(worse by, figures, previous's value) over the newest `min_partitions` partitions where
    both the champion and the one it replaced were scored on the same rows; None: too few."""
    scored = [
        (key, score)
        for key, score in sorted(performance, key=lambda pair: pair[0])
        if _both(score, metric, champion, previous)
    ][-rollback.min_partitions :]
    if len(scored) < rollback.min_partitions:
        return None
    rows = [_rows(s.rows) for _, s in scored]
    worse = _mean([s.worse_than_previous_by for _, s in scored], rows)
    mine = _mean([s.champion for _, s in scored], rows)
    theirs = _mean([s.previous for _, s in scored], rows)
    keys = ", ".join(k for k, _ in scored)
    return (
        worse,
        (
            f"on partitions {keys} ({int(sum(rows))} rows) {metric} {_fmt(mine)} is {_fmt(worse)} "
            f"{_worse_word(metric)} the previous champion v{previous}'s {_fmt(theirs)}"
        ),
        theirs,
    )


def served_evidence(
    rollback: Rollback,
    metric: str,
    champion: str,
    previous: str,
    served: Sequence[Mapping[str, Any]],
) -> tuple[float, str, float] | None:
    """(worse by, figures, previous's value) over labeled served requests of both versions,
    each with at least `min_requests` rows; None when either has fewer."""
    totals: dict[str, list[tuple[float, float]]] = {champion: [], previous: []}
    for versions in served:
        for version, figures in versions.items():
            value, rows = _number(figures.get(metric)), _number(figures.get("rows"))
            if str(version) in totals and not math.isnan(value) and rows > 0:
                totals[str(version)].append((value, rows))
    counts = {v: sum(r for _, r in pairs) for v, pairs in totals.items()}
    if any(counts[v] < rollback.min_requests for v in totals):
        return None
    mine = _mean([v for v, _ in totals[champion]], [r for _, r in totals[champion]])
    theirs = _mean([v for v, _ in totals[previous]], [r for _, r in totals[previous]])
    worse = _worse_by(metric, mine, theirs)
    return (
        worse,
        (
            f"on {int(counts[champion])} labeled served requests {metric} {_fmt(mine)} is "
            f"{_fmt(worse)} {_worse_word(metric)} the previous champion v{previous}'s "
            f"{_fmt(theirs)} ({int(counts[previous])} requests)"
        ),
        theirs,
    )


def gap_evidence(
    rollback: Rollback,
    metric: str,
    champion: str,
    previous: str,
    performance: Sequence[tuple[str, LiveScore]],
) -> str | None:
    """Why to go back because the champion's holdout did not predict its first live partitions
    and the champion it replaced did better on those same rows (by any amount); None: not so."""
    if not rollback.on_evaluation_gap:
        return None
    missed = [
        (key, score)
        for key, score in sorted(performance, key=lambda pair: pair[0])
        if _both(score, metric, champion, previous) and score.gap_exceeded
    ]
    if not missed:
        return None
    rows = [_rows(s.rows) for _, s in missed]
    worse = _mean([s.worse_than_previous_by for _, s in missed], rows)
    if not worse > 0:
        return None
    mine = _mean([s.champion for _, s in missed], rows)
    theirs = _mean([s.previous for _, s in missed], rows)
    baseline = missed[-1][1].baseline
    keys = ", ".join(k for k, _ in missed)
    return (
        f"missed its holdout {metric} {_fmt(baseline)} on partitions {keys} (live "
        f"{_fmt(mine)}, beyond policy.evaluation_gap) and the previous champion v{previous} did "
        f"better on the same rows ({_fmt(theirs)}): its evaluation did not predict production"
    )


def rollback_decision(
    rollback: Rollback,
    metric: str,
    champion: str | None,
    previous: str | None,
    performance: Sequence[tuple[str, LiveScore]],
    served: Sequence[Mapping[str, Any]] = (),
) -> RollbackDecision:
    """Roll back when the baking champion does worse than the one it replaced by more than
    `rollback.margin`, on scored partitions or on labeled served requests (either suffices).

    `performance`: (partition, champion_performance record) of the champion's baking period;
    `served`: served_performance `versions` maps of the same period.
    """
    if not rollback.enabled:
        return RollbackDecision(False, "rollback is disabled (policy.rollback.enabled: false)")
    if champion is None or previous is None:
        return RollbackDecision(False, "no previous champion to go back to")
    found = []
    for evidence in (
        partitions_evidence(rollback, metric, champion, previous, performance),
        served_evidence(rollback, metric, champion, previous, served),
    ):
        if evidence is None:
            continue
        worse, figures, theirs = evidence
        margin = rollback.margin.absolute(theirs)
        if worse > margin:
            return RollbackDecision(
                True, f"champion v{champion} {figures} (margin {_fmt(margin)}): back to v{previous}"
            )
        found.append(f"{figures} (margin {_fmt(margin)})")
    # Within the margin, but the evaluation that promoted it did not predict production and
    # the one it replaced did better on the same rows: not worth the risk.
    gap = gap_evidence(rollback, metric, champion, previous, performance)
    if gap is not None:
        return RollbackDecision(True, f"champion v{champion} {gap}: back to v{previous}")
    if not found:
        return RollbackDecision(
            False,
            f"not enough evidence yet: fewer than {rollback.min_partitions} scored partitions "
            f"and {rollback.min_requests} labeled requests of each version",
        )
    return RollbackDecision(False, f"champion v{champion} holds: " + "; ".join(found))


def change_point(broken: Mapping[str, bool]) -> str | None:
    """Where the newest break in live performance began: the first partition of the newest run
    of partitions on which the champion's live metric fell short of its baseline.

    `broken`: partition -> whether the live check failed there (partitions never scored are
    absent). A recovered run still names its start: the rows since then are the ones a model
    of the new regime should learn from, until the regular window holds nothing older.
    """
    start = None
    previous_broke = False
    for partition in sorted(broken):
        broke = broken[partition]
        if broke and not previous_broke:
            start = partition
        previous_broke = broke
    return start
