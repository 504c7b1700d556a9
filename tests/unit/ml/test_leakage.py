"""Unit tests of ct_assets/ml/leakage.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ct_assets.ml.frames import HOLDOUT, LABEL, PARTITION, SPLIT, TIME
from ct_assets.ml.leakage import copies_of_label, partition_identifying, single_feature_leaks
from tests.helpers.live_decisions import window_of

FEATURES = ["x1", "x2", "day_of_week", "hour", "skewed", "temperature"]


def test_a_day_of_week_in_a_week_long_window_names_the_partition() -> None:
    found = partition_identifying(window_of(7), FEATURES)
    # A day of week, and a value constant within each day (the day's temperature), name it;
    # the hour varies within a day, a skewed flag is seen on every day: both describe events.
    assert set(found) == {"day_of_week", "temperature"}
    assert "names the partition" in found["day_of_week"]
    assert "2026-03-07" in found["day_of_week"]


def test_a_day_of_week_seen_on_several_weeks_is_a_pattern_not_a_name() -> None:
    # Three weeks: the newest weekday was seen twice before, so a weekly pattern can be learnt.
    assert "day_of_week" not in partition_identifying(window_of(21), FEATURES)
    # Two weeks: seen once before, still a name.
    assert "day_of_week" in partition_identifying(window_of(14), FEATURES)


def test_hours_name_hourly_partitions() -> None:
    window = window_of(2)
    window[PARTITION] = window[TIME].dt.strftime("%Y-%m-%d-%H:00")
    assert "hour" in partition_identifying(window, ["hour", "x1"])


def test_a_copy_of_the_label_and_its_rescaling_are_refused_a_non_monotone_cause_is_not() -> None:
    window = window_of(3)
    rng = np.random.default_rng(1)
    window["refund"] = window[LABEL] * rng.uniform(5, 50, len(window))  # known after the fact
    window["copy"] = window[LABEL]
    # A legitimate cause the label follows exactly but not monotonically (age < 40 or >= 60).
    window["age"] = rng.integers(20, 80, len(window))
    window[LABEL] = ((window["age"] < 40) | (window["age"] >= 60)).astype(int)
    window["copy"] = window[LABEL]
    window["refund"] = window[LABEL] * rng.uniform(5, 50, len(window))
    holdout = window[window[SPLIT] == HOLDOUT]
    leaks = single_feature_leaks(holdout, ["refund", "copy", "age", "x1"], [], "binary", 0.999)
    assert set(leaks) == {"refund", "copy"}
    assert "ROC AUC 1.0000" in leaks["refund"] and "training.selection.force" in leaks["refund"]
    assert set(copies_of_label(window, ["refund", "copy", "age"])) == {"copy"}


def test_a_regression_label_s_rescaling_is_refused() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({LABEL: rng.normal(size=500), "noise": rng.normal(size=500)})
    frame["in_cents"] = frame[LABEL] * 100 + 3
    frame["related"] = frame[LABEL] + rng.normal(scale=0.3, size=500)
    leaks = single_feature_leaks(frame, ["in_cents", "related", "noise"], [], "regression", 0.999)
    assert set(leaks) == {"in_cents"}
