"""Unit tests of ct_assets/ml/live_score.py, live_labels.py and live_verdicts.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ct_assets.ml.live_verdicts import degradation, evaluation_gap, label_shift, likely_causes
from ct_assets.project.spec import Threshold


def test_live_degradation_follows_the_metric_s_direction_and_its_margin() -> None:
    broke = degradation("roc_auc", "7", live=0.56, baseline=0.94, margin=Threshold(value=0.05))
    assert broke.failed and "0.38 below its holdout 0.94" in broke.text
    held = degradation("roc_auc", "7", live=0.91, baseline=0.94, margin=Threshold(value=0.05))
    assert held.judged and held.passed
    rmse = degradation("rmse", "3", live=4.69, baseline=1.58, margin=Threshold.model_validate("5%"))
    assert rmse.failed and "above its holdout" in rmse.text
    assert not degradation("rmse", "3", math.nan, 1.58, Threshold(value=0.1)).judged


def test_the_evaluation_gap_is_judged_on_a_champion_s_first_live_partitions_only() -> None:
    gap = Threshold(value=0.05)
    first = evaluation_gap("roc_auc", "62", 0.576, 0.941, gap, live_index=0, first=2)
    assert first.failed and "did not predict its live partition 1 of the first 2" in first.text
    assert first.figures["gap"] == pytest.approx(0.365)
    later = evaluation_gap("roc_auc", "62", 0.576, 0.941, gap, live_index=2, first=2)
    assert not later.judged and later.passed
    close = evaluation_gap("roc_auc", "62", 0.92, 0.941, gap, live_index=1, first=2)
    assert close.judged and close.passed
    relative = Threshold.model_validate("10%")
    assert evaluation_gap("rmse", "55", 4.69, 1.58, relative, 0, 2).failed
    assert evaluation_gap("rmse", "55", 1.70, 1.58, relative, 0, 2).passed


def test_a_prior_shift_is_an_effect_size() -> None:
    labels = np.array([1] * 50 + [0] * 50)
    moved = label_shift("binary", labels, train_mean=0.2, train_std=0.4, threshold=0.2)
    assert moved.failed and "Cohen's h" in moved.text
    assert label_shift("binary", labels, 0.48, 0.5, 0.2).passed
    values = np.array([10.0, 11.0, 12.0])
    assert label_shift("regression", values, 11.0, 2.0, 0.2).passed
    assert label_shift("regression", values, 14.0, 2.0, 0.2).failed
    assert not label_shift("binary", labels, math.nan, math.nan, 0.2).judged


def test_the_likely_cause_names_the_calendar_feature_the_model_leans_on() -> None:
    text = likely_causes(
        {"day_of_week": 0.30, "x1": 0.08, "x2": 0.02, "noise": -0.01},
        calendar=["day_of_week", "hour"],
        partition_constant=["day_of_week"],
    )
    assert text.startswith("the model leans on day_of_week (75%, a calendar feature and constant")
    assert "day_of_week can name the partition" in text
