"""The evaluation library: metrics on a holdout, per slice, and the noise in a difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from ct_assets.ml.schema import CHANNELS, COUNTRIES
from ct_assets.ml.vocabulary import CONFIDENCE, METRIC_NAMES

# Paired bootstrap: resamples of the holdout.
BOOTSTRAP_RESAMPLES = 1000
CALIBRATION_BINS = 10
K = TypeVar("K")
# Categorical features travel as integer codes; slices are reported by their names.
CATEGORY_NAMES: dict[str, tuple[str, ...]] = {"channel": CHANNELS, "country": COUNTRIES}


def calibration_error(labels: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: the row-weighted gap between predicted and observed rates
    over equal-width probability bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(proba, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    predicted = np.bincount(which, weights=proba, minlength=bins)
    observed = np.bincount(which, weights=labels, minlength=bins)
    filled = counts > 0
    gaps = np.abs(predicted[filled] - observed[filled]) / counts[filled]
    return float(np.sum(gaps * counts[filled]) / len(labels))


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
        "calibration_error": round(calibration_error(labels, proba), 5),
        "precision_at_threshold": round(
            float(precision_score(labels, decided, zero_division=0)), 5
        ),
        "recall_at_threshold": round(float(recall_score(labels, decided, zero_division=0)), 5),
        "positive_rate": round(float(np.mean(labels)), 5),
    }


def calibration_table(
    labels: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS
) -> pd.DataFrame:
    """Observed positive rate against mean predicted probability, per non-empty bin."""
    observed, predicted = calibration_curve(labels, proba, n_bins=bins, strategy="uniform")
    return pd.DataFrame(
        {"mean_predicted": np.round(predicted, 4), "observed_rate": np.round(observed, 4)}
    )


def slice_label(column: str, value: object) -> str:
    names = CATEGORY_NAMES.get(column)
    if names is not None and isinstance(value, int | np.integer):
        return names[int(value)] if 0 <= int(value) < len(names) else "missing"
    return str(value)


def slice_metrics(
    frame: pd.DataFrame,
    labels: np.ndarray,
    proba: np.ndarray,
    columns: Sequence[str],
    min_rows: int,
) -> list[dict[str, object]]:
    """ROC AUC per value of each slice column, for slices large enough to judge.

    A slice with fewer than `min_rows` rows, or a single class, is listed without an AUC: its
    score would be noise, and a gate must not act on noise.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"slice columns {missing} are not in the features; known: {', '.join(frame.columns)}"
        )
    rows = []
    for column in columns:
        values = frame[column].to_numpy()
        for value in pd.unique(values):
            mask = values == value
            sliced = labels[mask]
            judged = mask.sum() >= min_rows and 0 < sliced.sum() < len(sliced)
            rows.append(
                {
                    "column": column,
                    "value": slice_label(column, value),
                    "rows": int(mask.sum()),
                    "positive_rate": round(float(sliced.mean()), 4),
                    "roc_auc": round(float(roc_auc_score(sliced, proba[mask])), 5)
                    if judged
                    else None,
                }
            )
    return sorted(rows, key=lambda r: (str(r["column"]), str(r["value"])))


@dataclass(frozen=True)
class _Ranked:
    """One model's holdout scores sorted once, for AUCs on any number of resamples."""

    order: np.ndarray
    positive: np.ndarray
    ties: np.ndarray | None  # start of each group of equal scores; None when all differ

    @classmethod
    def of(cls, labels: np.ndarray, scores: np.ndarray) -> _Ranked:
        order = np.argsort(scores, kind="stable")
        ordered = scores[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ties = None if len(starts) == len(ordered) else starts
        return cls(order, labels[order].astype(bool), ties)

    def aucs(self, weights: np.ndarray) -> np.ndarray:
        """ROC AUC on each resample, given as a weight per holdout row (resamples x n).

        The AUC of a weighted sample is the weighted share of (positive, negative) pairs in the
        right order, ties counting half: exactly sklearn's ROC AUC, for a whole block of
        resamples with sums instead of one sort per resample.
        """
        w = weights[:, self.order]
        pos = w * self.positive
        if self.ties is None:
            neg = w - pos
        else:
            pos = np.add.reduceat(pos, self.ties, axis=1)
            neg = np.add.reduceat(w, self.ties, axis=1) - pos
        # Pairs with the negative strictly below, plus half of the tied ones.
        ordered_pairs = np.einsum("ij,ij->i", pos, np.cumsum(neg, axis=1) - 0.5 * neg)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ordered_pairs / (pos.sum(axis=1) * neg.sum(axis=1))


def _resample_weights(rows: np.ndarray) -> np.ndarray:
    """How often each holdout row was drawn in each resample (rows: resamples x n indices)."""
    resamples, n = rows.shape
    flat = (np.arange(resamples)[:, None] * n + rows).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(float)


def paired_bootstrap_gains(
    labels: np.ndarray,
    candidates: Mapping[K, np.ndarray],
    champion: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[K, dict[str, float]]:
    """ROC AUC gain of each candidate over the champion, with a paired bootstrap interval.

    Every model is scored on the same resampled rows each time, so each interval reflects the
    noise in the difference, not in each score alone; the champion's AUC on a resample is
    computed once for all candidates.
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    ranked = {key: _Ranked.of(labels, scores) for key, scores in candidates.items()}
    theirs_ranked = _Ranked.of(labels, champion)
    # Blocks of resamples bounded to a few million cells, so memory stays flat for any holdout.
    block = max(1, 4_000_000 // max(n, 1))
    gains: dict[K, list[np.ndarray]] = {key: [] for key in candidates}
    for start in range(0, resamples, block):
        weights = _resample_weights(rng.integers(0, n, (min(block, resamples - start), n)))
        theirs = theirs_ranked.aucs(weights)
        for key, model in ranked.items():
            ours = model.aucs(weights)
            both_classes = np.isfinite(ours) & np.isfinite(theirs)
            gains[key].append((ours - theirs)[both_classes])
    tail = (1.0 - CONFIDENCE) / 2
    champion_auc = roc_auc_score(labels, champion)
    out: dict[K, dict[str, float]] = {}
    for key, blocks in gains.items():
        all_gains = np.concatenate(blocks)
        lower, upper = np.quantile(all_gains, [tail, 1.0 - tail])
        out[key] = {
            "gain": round(float(roc_auc_score(labels, candidates[key]) - champion_auc), 5),
            "lower": round(float(lower), 5),
            "upper": round(float(upper), 5),
            "resamples": len(all_gains),
        }
    return out


def comparison_table(models: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """One row per model (keyed by a label such as 'candidate v3'), its holdout metrics."""
    columns = ("family", "mode", *METRIC_NAMES)
    return pd.DataFrame(
        [{"model": name, **{c: m.get(c, "") for c in columns}} for name, m in models.items()]
    )
