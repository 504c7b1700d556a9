"""Unit tests of ct_assets/ml/evaluation.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ct_assets.ml.evaluation import (
    _Ranked,
    _resample_weights,
    calibration_error,
    calibration_table,
    metric_value,
    paired_bootstrap_gains,
    score,
    score_binary,
    slice_metrics,
)
from ct_assets.ml.frames import slice_column
from ct_assets.ml.vocabulary import TASK_METRICS


def test_score_rejects_a_single_class_holdout() -> None:
    with pytest.raises(ValueError, match="single class"):
        score("binary", np.array([1, 1]), np.array([0.2, 0.9]))
    assert score("binary", np.array([0, 1]), np.array([0.2, 0.9]))["roc_auc"] == 1.0


def test_score_reports_precision_and_recall_at_the_threshold() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    proba = np.array([0.1, 0.6, 0.4, 0.7, 0.9])
    scored = score_binary(labels, proba, threshold=0.5)
    assert scored["precision_at_threshold"] == pytest.approx(2 / 3, abs=1e-5)
    assert scored["recall_at_threshold"] == pytest.approx(2 / 3, abs=1e-5)
    assert scored["positive_rate"] == 0.6
    # Floors are checked against the vocabulary: it must name exactly what is reported.
    assert tuple(scored) == TASK_METRICS["binary"]


def test_regression_metrics_are_what_they_say() -> None:
    labels = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([1.0, 2.0, 3.0, 6.0])
    scored = score("regression", labels, predicted)
    assert tuple(scored) == TASK_METRICS["regression"]
    assert scored["rmse"] == pytest.approx(1.0) and scored["mae"] == pytest.approx(0.5)
    assert scored["r2"] == pytest.approx(1 - 4 / 5)
    assert scored["label_mean"] == 2.5 and scored["prediction_mean"] == 3.0
    table = calibration_table("regression", labels, predicted, bins=2)
    assert list(table["mean_actual"]) == [1.5, 3.5] and list(table["rows"]) == [2, 2]


def test_calibration_error_is_zero_when_rates_match_and_large_when_they_do_not() -> None:
    # In each bin the observed rate equals the predicted probability exactly.
    proba = np.repeat([0.25, 0.75], 4)
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert calibration_error(labels, proba) == pytest.approx(0.0)
    # Always 0.9 for a 50% outcome: off by 0.4 everywhere.
    assert calibration_error(np.array([0, 1] * 50), np.full(100, 0.9)) == pytest.approx(0.4)
    table = calibration_table("binary", labels, proba)
    assert list(table["observed_rate"]) == [0.25, 0.75]


def test_slices_are_named_and_small_ones_are_not_judged() -> None:
    rng = np.random.default_rng(0)
    channel = np.array(["web"] * 300 + ["app"] * 300 + ["store"] * 40)
    labels = rng.integers(0, 2, len(channel))
    proba = np.where(channel == "web", labels * 0.8 + 0.1, rng.random(len(channel)))
    frame = pd.DataFrame({slice_column("channel"): channel})
    found = slice_metrics(frame, labels, proba, ["channel"], 100, "roc_auc")
    rows = {r["value"]: r for r in found}
    assert set(rows) == {"web", "app", "store"}
    assert rows["web"]["roc_auc"] == 1.0 and rows["web"]["rows"] == 300
    assert 0.4 < rows["app"]["roc_auc"] < 0.6  # type: ignore[operator]
    assert rows["store"]["roc_auc"] is None and rows["store"]["rows"] == 40
    with pytest.raises(ValueError, match=r"slice columns \['region'\]"):
        slice_metrics(frame, labels, proba, ["region"], 100, "roc_auc")


def test_regression_slices_carry_their_rmse() -> None:
    weather = np.array(["snow"] * 150 + ["clear"] * 150)
    labels = np.arange(300, dtype=float)
    predicted = labels + np.where(weather == "snow", 3.0, 1.0)
    frame = pd.DataFrame({slice_column("weather"): weather})
    rows = {
        r["value"]: r for r in slice_metrics(frame, labels, predicted, ["weather"], 100, "rmse")
    }
    assert rows["snow"]["rmse"] == pytest.approx(3.0) and rows["clear"]["rmse"] == pytest.approx(
        1.0
    )


def test_the_rank_form_of_the_bootstrap_auc_is_sklearn_s_auc_ties_included() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200), 1)  # many ties
    rows = rng.integers(0, 200, (25, 200))
    ranked = _Ranked.of(labels, scores).aucs(_resample_weights(rows))
    expected = [roc_auc_score(labels[r], scores[r]) for r in rows]
    assert np.allclose(ranked, expected)


def test_the_paired_bootstrap_separates_a_real_gain_from_noise() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 600)
    signal = labels + rng.normal(0, 1.0, 600)
    candidates = {
        "same": signal,
        "noisy": signal + rng.normal(0, 0.05, 600),
        "better": labels + rng.normal(0, 0.3, 600),
    }
    found = paired_bootstrap_gains(labels, candidates, signal, resamples=300)
    same, noisy, better = found["same"], found["noisy"], found["better"]
    assert same["gain"] == same["lower"] == same["upper"] == 0.0
    assert noisy["lower"] < 0.0 < noisy["upper"]
    assert better["lower"] > 0.1 and better["resamples"] == 300
    # Pairing holds per candidate: each one's interval is the one it gets compared alone.
    alone = paired_bootstrap_gains(labels, {"better": candidates["better"]}, signal, resamples=300)
    assert alone == {"better": better}


@pytest.mark.parametrize("metric", ["rmse", "mae"])
def test_a_regression_bootstrap_counts_a_lower_error_as_an_improvement(metric: str) -> None:
    rng = np.random.default_rng(5)
    labels = rng.normal(50, 10, 800)
    champion = labels + rng.normal(0, 5.0, 800)
    candidates = {"better": labels + rng.normal(0, 3.0, 800), "same": champion}
    found = paired_bootstrap_gains(labels, candidates, champion, metric, resamples=300)
    better = found["better"]
    expected = metric_value(metric, labels, champion) - metric_value(
        metric, labels, candidates["better"]
    )  # type: ignore[operator]
    assert better["gain"] == pytest.approx(expected, abs=1e-5)
    assert better["lower"] > 0.5 and better["upper"] > better["lower"]
    assert found["same"]["gain"] == found["same"]["lower"] == 0.0


def test_a_log_loss_bootstrap_points_down_too() -> None:
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, 600)
    sharp = np.clip(labels * 0.8 + 0.1 + rng.normal(0, 0.05, 600), 0.01, 0.99)
    vague = np.full(600, 0.5)
    found = paired_bootstrap_gains(labels, {"sharp": sharp}, vague, "log_loss", resamples=200)
    assert found["sharp"]["lower"] > 0.3


def test_the_bootstrap_skips_resamples_with_a_single_class() -> None:
    labels = np.array([1] + [0] * 9)  # a resample often misses the only positive
    proba = np.linspace(0, 1, 10)
    found = paired_bootstrap_gains(labels, {"v": proba}, proba[::-1], resamples=200, seed=2)["v"]
    assert 0 < found["resamples"] < 200
