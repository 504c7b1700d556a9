"""Verdicts on a champion's live figures: a live degradation against its holdout figure, the
evaluation gap on its first live partitions (and what the model leaned on when it failed), a
shift of the label rate; and the record champion_performance writes of them. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ct_assets.ml.live_score import (
    GAP_EXCEEDED,
    LABEL_SHIFTED,
    LIVE_DEGRADED,
    NAN,
    NONE,
    ChampionScore,
    worse_by,
)
from ct_assets.ml.records import LiveScore
from ct_assets.ml.vocabulary import BINARY, METRIC
from ct_assets.project.spec import Threshold

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
