"""The evaluation library: metrics on a holdout, per slice, and the noise in a difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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

# Paired bootstrap: resamples of the holdout, and the two-sided confidence level.
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
CALIBRATION_BINS = 10
# Categorical features travel as integer codes; slices are reported by their names.
CATEGORY_NAMES: dict[str, tuple[str, ...]] = {"channel": CHANNELS, "country": COUNTRIES}
# What `score` reports, and so what a floor may bound.
METRICS = frozenset(
    {
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "calibration_error",
        "precision_at_threshold",
        "recall_at_threshold",
        "positive_rate",
    }
)


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


def _bootstrap_aucs(labels: np.ndarray, scores: Sequence[np.ndarray], rows: np.ndarray) -> list:
    """ROC AUC of each score on every resample (rows: resamples x n indices).

    A resample is the holdout with a weight per row (how often it was drawn). Sorted once by
    score, the AUC of a weighted sample is the weighted share of (positive, negative) pairs in
    the right order, ties counting half: exactly sklearn's ROC AUC, computed for a whole block
    of resamples with sums instead of one sort per resample.
    """
    resamples, n = rows.shape
    offsets = np.arange(resamples)[:, None] * n
    out = []
    for s in scores:
        order = np.argsort(s, kind="stable")
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        weights = np.bincount((offsets + position[rows]).ravel(), minlength=resamples * n)
        weights = weights.reshape(resamples, n).astype(float)
        positive = labels[order].astype(bool)
        ordered = s[order]
        ties = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        pos = np.add.reduceat(weights * positive, ties, axis=1)
        neg = np.add.reduceat(weights * ~positive, ties, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append((pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(1) * neg.sum(1)))
    return out


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
    n = len(labels)
    # Blocks of resamples bounded to a few million cells, so memory stays flat for any holdout.
    block = max(1, 4_000_000 // max(n, 1))
    gains: list[np.ndarray] = []
    for start in range(0, resamples, block):
        rows = rng.integers(0, n, (min(block, resamples - start), n))
        ours, theirs = _bootstrap_aucs(labels, (candidate, champion), rows)
        both_classes = np.isfinite(ours) & np.isfinite(theirs)
        gains.append((ours - theirs)[both_classes])
    all_gains = np.concatenate(gains)
    tail = (1.0 - CONFIDENCE) / 2
    lower, upper = np.quantile(all_gains, [tail, 1.0 - tail])
    observed = roc_auc_score(labels, candidate) - roc_auc_score(labels, champion)
    return {
        "gain": round(float(observed), 5),
        "lower": round(float(lower), 5),
        "upper": round(float(upper), 5),
        "resamples": len(all_gains),
    }


def comparison_table(models: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """One row per model (keyed by a label such as 'candidate v3'), its holdout metrics."""
    columns = (
        "family",
        "mode",
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "calibration_error",
        "precision_at_threshold",
        "recall_at_threshold",
    )
    return pd.DataFrame(
        [{"model": name, **{c: m.get(c, "") for c in columns}} for name, m in models.items()]
    )
