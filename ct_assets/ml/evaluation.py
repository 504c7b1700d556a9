"""Scoring on a holdout, and the promotion gate decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score


def score(labels: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """The metrics every model is compared on."""
    if len(np.unique(labels)) < 2:
        raise ValueError("holdout holds a single class: ROC AUC is undefined")
    return {
        "roc_auc": round(float(roc_auc_score(labels, proba)), 5),
        "log_loss": round(float(log_loss(labels, np.clip(proba, 1e-7, 1 - 1e-7))), 5),
        "positive_rate": round(float(np.mean(labels)), 5),
    }


@dataclass(frozen=True)
class ScoredModel:
    version: str
    family: str
    roc_auc: float
    log_loss: float


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
    if gain < margin:
        return refuse(
            f"v{best.version} ({best.family}) ROC AUC {best.roc_auc:.4f} vs champion "
            f"v{champion.version} {champion.roc_auc:.4f}: gain {gain:+.4f} < margin {margin:.4f}"
        )
    return GateDecision(
        True,
        best,
        champion,
        f"v{best.version} ({best.family}) ROC AUC {best.roc_auc:.4f} beats champion "
        f"v{champion.version} {champion.roc_auc:.4f} by {gain:+.4f} >= margin {margin:.4f}",
        floor,
        margin,
    )
