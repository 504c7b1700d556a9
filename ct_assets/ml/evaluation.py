"""The evaluation library: metrics on a holdout per task, per slice, and the noise in a
difference between two models on the same rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from ct_assets.ml.frames import SLICE_PREFIX
from ct_assets.ml.vocabulary import BINARY, CONFIDENCE, METRIC, TASK_METRICS

# Paired bootstrap: resamples of the holdout.
BOOTSTRAP_RESAMPLES = 1000
CALIBRATION_BINS = 10
K = TypeVar("K")
EPS = 1e-7


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


def score_binary(labels: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    if len(np.unique(labels)) < 2:
        raise ValueError("holdout holds a single class: ROC AUC is undefined")
    decided = proba >= threshold
    return {
        "roc_auc": round(float(roc_auc_score(labels, proba)), 5),
        "pr_auc": round(float(average_precision_score(labels, proba)), 5),
        "log_loss": round(float(log_loss(labels, np.clip(proba, EPS, 1 - EPS))), 5),
        "brier": round(float(brier_score_loss(labels, proba)), 5),
        "calibration_error": round(calibration_error(labels, proba), 5),
        "precision_at_threshold": round(
            float(precision_score(labels, decided, zero_division=0)), 5
        ),
        "recall_at_threshold": round(float(recall_score(labels, decided, zero_division=0)), 5),
        "positive_rate": round(float(np.mean(labels)), 5),
    }


def score_regression(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    if len(labels) < 2:
        raise ValueError("holdout holds fewer than two rows: R² is undefined")
    return {
        "rmse": round(float(np.sqrt(np.mean((labels - predicted) ** 2))), 6),
        "mae": round(float(mean_absolute_error(labels, predicted)), 6),
        "r2": round(float(r2_score(labels, predicted)), 5),
        "label_mean": round(float(np.mean(labels)), 6),
        "prediction_mean": round(float(np.mean(predicted)), 6),
    }


def score(task: str, labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The metrics every model of the task is compared on (`vocabulary.TASK_METRICS`)."""
    if task == BINARY:
        return score_binary(labels, predicted)
    return score_regression(labels.astype(float), predicted)


def metric_value(metric: str, labels: np.ndarray, predicted: np.ndarray) -> float | None:
    """One metric on some rows; None where it is undefined (an AUC of a single class)."""
    if metric == "roc_auc":
        return float(roc_auc_score(labels, predicted)) if 0 < labels.sum() < len(labels) else None
    if metric == "log_loss":
        return float(log_loss(labels, np.clip(predicted, EPS, 1 - EPS), labels=[0, 1]))
    if metric == "rmse":
        return float(np.sqrt(np.mean((labels - predicted) ** 2)))
    if metric == "mae":
        return float(np.mean(np.abs(labels - predicted)))
    raise ValueError(f"{metric!r} cannot be measured per slice or bootstrapped")


def calibration_table(
    task: str, labels: np.ndarray, predicted: np.ndarray, bins: int = CALIBRATION_BINS
) -> pd.DataFrame:
    """Binary: observed positive rate against mean predicted probability, per non-empty bin.
    Regression: mean actual against mean predicted value, per decile of the prediction."""
    if task == BINARY:
        observed, mean_predicted = calibration_curve(labels, predicted, n_bins=bins)
        return pd.DataFrame(
            {"mean_predicted": np.round(mean_predicted, 4), "observed_rate": np.round(observed, 4)}
        )
    deciles = pd.qcut(pd.Series(predicted).rank(method="first"), q=min(bins, len(predicted)))
    grouped = pd.DataFrame({"predicted": predicted, "actual": labels}).groupby(
        deciles.cat.codes, observed=True
    )
    return pd.DataFrame(
        {
            "mean_predicted": grouped["predicted"].mean().round(4).to_numpy(),
            "mean_actual": grouped["actual"].mean().round(4).to_numpy(),
            "rows": grouped.size().to_numpy(),
        }
    )


def slice_metrics(
    frame: pd.DataFrame,
    labels: np.ndarray,
    predicted: np.ndarray,
    columns: Sequence[str],
    min_rows: int,
    metric: str,
) -> list[dict[str, object]]:
    """The primary metric per value of each slice column, for slices large enough to judge.

    A slice with fewer than `min_rows` rows (or, for ROC AUC, a single class) is listed without
    a value: its score would be noise, and a gate must not act on noise.
    """
    missing = [c for c in columns if f"{SLICE_PREFIX}{c}" not in frame.columns]
    if missing:
        raise ValueError(f"slice columns {missing} are not in the features")
    rows = []
    for column in columns:
        values = frame[f"{SLICE_PREFIX}{column}"].to_numpy()
        for value in pd.unique(values):
            mask = values == value
            sliced = labels[mask]
            measured = metric_value(metric, sliced, predicted[mask])
            judged = mask.sum() >= min_rows and measured is not None
            rows.append(
                {
                    "column": column,
                    "value": str(value),
                    "rows": int(mask.sum()),
                    "label_mean": round(float(sliced.mean()), 4),
                    metric: round(measured, 5) if judged and measured is not None else None,
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


def _mean_loss_scorer(
    metric: str, labels: np.ndarray, predicted: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """The metric on each resample (weights: resamples x n) for metrics that are a mean of
    per-row losses: log loss, MAE, and RMSE (the root of the mean squared error)."""
    if metric == "log_loss":
        p = np.clip(predicted, EPS, 1 - EPS)
        losses = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    elif metric == "mae":
        losses = np.abs(labels - predicted)
    else:
        losses = (labels - predicted) ** 2

    def on(weights: np.ndarray) -> np.ndarray:
        means = weights @ losses / weights.sum(axis=1)
        return np.sqrt(means) if metric == "rmse" else means

    return on


def _scorer(metric: str, labels: np.ndarray, predicted: np.ndarray) -> Callable[..., np.ndarray]:
    if metric == "roc_auc":
        return _Ranked.of(labels, predicted).aucs
    return _mean_loss_scorer(metric, labels, predicted)


def paired_bootstrap_gains(
    labels: np.ndarray,
    candidates: Mapping[K, np.ndarray],
    champion: np.ndarray,
    metric: str = "roc_auc",
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[K, dict[str, float]]:
    """Improvement of each candidate over the champion in `metric`, with a paired bootstrap
    interval. An improvement is positive when the candidate is better, whichever way the
    metric points (higher ROC AUC, lower RMSE).

    Every model is scored on the same resampled rows each time, so each interval reflects the
    noise in the difference, not in each score alone; the champion's score on a resample is
    computed once for all candidates.
    """
    direction = METRIC[metric]
    rng = np.random.default_rng(seed)
    n = len(labels)
    ours_of = {key: _scorer(metric, labels, scores) for key, scores in candidates.items()}
    theirs_of = _scorer(metric, labels, champion)
    # Blocks of resamples bounded to a few million cells, so memory stays flat for any holdout.
    block = max(1, 4_000_000 // max(n, 1))
    gains: dict[K, list[np.ndarray]] = {key: [] for key in candidates}
    for start in range(0, resamples, block):
        weights = _resample_weights(rng.integers(0, n, (min(block, resamples - start), n)))
        theirs = theirs_of(weights)
        for key, scorer in ours_of.items():
            ours = scorer(weights)
            defined = np.isfinite(ours) & np.isfinite(theirs)
            gains[key].append(direction.improvement(ours, theirs)[defined])
    tail = (1.0 - CONFIDENCE) / 2
    champion_value = metric_value(metric, labels, champion)
    out: dict[K, dict[str, float]] = {}
    for key, blocks in gains.items():
        all_gains = np.concatenate(blocks)
        lower, upper = np.quantile(all_gains, [tail, 1.0 - tail])
        value = metric_value(metric, labels, candidates[key])
        assert value is not None and champion_value is not None
        out[key] = {
            "gain": round(float(direction.improvement(value, champion_value)), 6),
            "lower": round(float(lower), 6),
            "upper": round(float(upper), 6),
            "resamples": len(all_gains),
        }
    return out


def comparison_table(task: str, models: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """One row per model (keyed by a label such as 'candidate v3'), its holdout metrics."""
    columns = ("family", "mode", *TASK_METRICS[task])
    return pd.DataFrame(
        [{"model": name, **{c: m.get(c, "") for c in columns}} for name, m in models.items()]
    )


def permutation_importance(
    predict: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
    features: Sequence[str],
    labels: np.ndarray,
    metric: str,
    seed: int = 0,
) -> dict[str, float]:
    """How much worse the metric gets on these rows when each feature's values are shuffled
    (positive: the model relies on it here). Any family, through its predict function."""
    base = metric_value(metric, labels, predict(frame))
    if base is None:
        return {}
    rng = np.random.default_rng(seed)
    direction = METRIC[metric]
    out = {}
    for name in features:
        shuffled = frame.copy()
        shuffled[name] = rng.permutation(shuffled[name].to_numpy())
        value = metric_value(metric, labels, predict(shuffled))
        out[name] = 0.0 if value is None else round(float(direction.improvement(base, value)), 6)
    return out
