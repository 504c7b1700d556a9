"""Scoring on a holdout, and the promotion gate decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

# Paired bootstrap: resamples of the holdout, and the two-sided confidence level.
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


def score(labels: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The metrics every model is compared on."""
    if len(np.unique(labels)) < 2:
        raise ValueError("holdout holds a single class: ROC AUC is undefined")
    decided = proba >= threshold
    return {
        "roc_auc": round(float(roc_auc_score(labels, proba)), 5),
        "pr_auc": round(float(average_precision_score(labels, proba)), 5),
        "log_loss": round(float(log_loss(labels, np.clip(proba, 1e-7, 1 - 1e-7))), 5),
        "brier": round(float(brier_score_loss(labels, proba)), 5),
        "precision_at_threshold": round(
            float(precision_score(labels, decided, zero_division=0)), 5
        ),
        "recall_at_threshold": round(float(recall_score(labels, decided, zero_division=0)), 5),
        "positive_rate": round(float(np.mean(labels)), 5),
    }


def paired_bootstrap_gain(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, float]:
    """ROC AUC gain of candidate over champion, with a paired bootstrap confidence interval.

    Both models are scored on the same resampled rows each time, so the interval reflects the
    noise in the difference, not in each score alone.
    """
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(resamples):
        rows = rng.integers(0, len(labels), len(labels))
        sample = labels[rows]
        if sample.min() == sample.max():
            continue
        gains.append(roc_auc_score(sample, candidate[rows]) - roc_auc_score(sample, champion[rows]))
    tail = (1.0 - CONFIDENCE) / 2
    lower, upper = np.quantile(gains, [tail, 1.0 - tail])
    observed = roc_auc_score(labels, candidate) - roc_auc_score(labels, champion)
    return {
        "gain": round(float(observed), 5),
        "lower": round(float(lower), 5),
        "upper": round(float(upper), 5),
        "resamples": len(gains),
    }


@dataclass(frozen=True)
class ScoredModel:
    version: str
    family: str
    roc_auc: float
    log_loss: float
    # Bootstrap interval of the ROC AUC gain over the champion, when there is one.
    gain_lower: float | None = None
    gain_upper: float | None = None


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    candidate: ScoredModel | None
    champion: ScoredModel | None
    reason: str
    floor: float
    margin: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_promotion(
    candidates: list[ScoredModel],
    champion: ScoredModel | None,
    floor: float,
    margin: float,
) -> GateDecision:
    """Promote the best candidate only if it clears the floor and beats the champion by `margin`.

    The first model (no champion yet) is judged on the floor alone.
    """
    if not candidates:
        return GateDecision(False, None, champion, "no candidate to judge", floor, margin)
    best = max(candidates, key=lambda c: c.roc_auc)

    def refuse(reason: str) -> GateDecision:
        return GateDecision(False, best, champion, reason, floor, margin)

    if best.roc_auc < floor:
        return refuse(
            f"best candidate v{best.version} ({best.family}) ROC AUC {best.roc_auc:.4f} "
            f"is below the floor {floor:.4f}"
        )
    if champion is None:
        return GateDecision(
            True,
            best,
            None,
            f"first model: v{best.version} ({best.family}) ROC AUC {best.roc_auc:.4f} "
            f"clears the floor {floor:.4f}",
            floor,
            margin,
        )
    if best.version == champion.version:
        return refuse(f"v{best.version} is already the champion")
    gain = best.roc_auc - champion.roc_auc
    versus = (
        f"v{best.version} ({best.family}) ROC AUC {best.roc_auc:.4f} vs champion "
        f"v{champion.version} {champion.roc_auc:.4f}: gain {gain:+.4f}"
    )
    beats = (
        f"v{best.version} ({best.family}) ROC AUC {best.roc_auc:.4f} beats champion "
        f"v{champion.version} {champion.roc_auc:.4f} by {gain:+.4f}"
    )
    if best.gain_lower is not None:
        # Noise must not promote: the whole confidence interval has to clear the margin.
        interval = f"{CONFIDENCE:.0%} CI [{best.gain_lower:+.4f}, {best.gain_upper or 0.0:+.4f}]"
        if best.gain_lower < margin:
            return refuse(f"{versus}, {interval}: lower bound < margin {margin:.4f}")
        reason = f"{beats}, {interval}: lower bound >= margin {margin:.4f}"
        return GateDecision(True, best, champion, reason, floor, margin)
    if gain < margin:
        return refuse(f"{versus} < margin {margin:.4f}")
    return GateDecision(True, best, champion, f"{beats} >= margin {margin:.4f}", floor, margin)
