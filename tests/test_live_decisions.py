"""Decisions that must hold live, as pure functions: the leak guards, the candidate windows and
their competition, the change point, and the verdicts on a champion's live partitions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.competition import compete, failures, winner
from ct_assets.ml.evaluation import score
from ct_assets.ml.frames import BATCH, HOLDOUT, LABEL, PARTITION, SPLIT, TIME, TRAIN
from ct_assets.ml.leakage import copies_of_label, partition_identifying, single_feature_leaks
from ct_assets.ml.live import (
    degradation,
    evaluation_gap,
    label_shift,
    likely_causes,
)
from ct_assets.ml.loop import change_point, rollback_decision
from ct_assets.ml.records import LiveScore
from ct_assets.ml.selection import Selection
from ct_assets.ml.training import Inputs, TrainedModel, fit_family, predict
from ct_assets.ml.windows import assemble_window, training_subsets
from ct_assets.project.spec import Rollback, Threshold, Training

DAYS = [f"2026-03-{d:02d}" for d in range(1, 29)]


def stream(days: int, rows: int = 400, seed: int = 0, flip_from: int | None = None) -> dict:
    """Daily partitions of a binary stream: the label follows x1 + x2 (or, from `flip_from`
    on, the opposite rule); the calendar columns a careless project would add."""
    rng = np.random.default_rng(seed)
    parts = {}
    for index in range(days):
        key = DAYS[index]
        times = pd.Timestamp(key, tz="UTC") + pd.to_timedelta(
            np.sort(rng.integers(0, 86_400, rows)), unit="s"
        )
        x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
        signal = x1 + x2 if flip_from is None or index < flip_from else -(x1 + x2)
        label = (signal + rng.normal(scale=0.8, size=rows) > 0).astype(int)
        parts[key] = pd.DataFrame(
            {
                TIME: times,
                BATCH: f"b-{key}",
                LABEL: label,
                "x1": x1,
                "x2": x2,
                "day_of_week": np.full(rows, times[0].dayofweek),
                "hour": times.hour,
                "skewed": rng.choice([0, 1], size=rows, p=[0.9, 0.1]),
                "temperature": np.full(rows, rng.normal(15, 5)),
            }
        )
    return parts


def window_of(days: int, **kwargs: Any) -> pd.DataFrame:
    return assemble_window(stream(days, **kwargs), holdout_fraction=0.2)


FEATURES = ["x1", "x2", "day_of_week", "hour", "skewed", "temperature"]


# -- leak guards --------------------------------------------------------------------------------


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


def test_a_forced_feature_is_kept_with_its_risk_others_are_left_out_with_their_reason() -> None:
    pruned = Selection(kept=["x1", "day_of_week", "hour"], dropped={"flat": "constant"})
    leaks = {"day_of_week": "names the partition: ...", "hour": "names the partition: ..."}
    guarded = pruned.guarded(leaks, ["day_of_week", "flat"])
    assert guarded.kept == ["x1", "day_of_week", "flat"]
    assert guarded.dropped == {"hour": "names the partition: ..."}
    assert guarded.forced["day_of_week"].startswith("forced in by training.selection.force")
    assert "names the partition" in guarded.forced["day_of_week"]
    assert "constant" in guarded.forced["flat"]


# -- candidate windows and their competition -----------------------------------------------------


def test_candidate_windows_end_at_the_newest_training_rows_and_are_each_trained_once() -> None:
    window = window_of(7)
    train = window[window[SPLIT] == TRAIN]
    subsets, skipped = training_subsets(
        train, Training(window=7).candidate_windows, "2026-03-05", binary=True
    )
    names = [s.name for s in subsets]
    assert names == ["last 1", "last 3", "last 7", "since 2026-03-05"]
    # The newest day is all holdout (20% of the window is 1.4 days): windows end on the 6th.
    assert subsets[0].partitions == ("2026-03-06",)
    assert subsets[1].partitions == ("2026-03-04", "2026-03-05", "2026-03-06")
    assert len(subsets[2].partitions) == 6
    assert subsets[3].partitions == ("2026-03-05", "2026-03-06")
    assert all(s.size == int(train[PARTITION].isin(s.partitions).sum()) for s in subsets)
    assert not skipped
    # Without a break, since_change is not trained; a window the same as another is one window.
    subsets, skipped = training_subsets(train, [1, 3, "since_change"], None, binary=True)
    assert [s.name for s in subsets] == ["last 1", "last 3"]
    assert skipped == {"since_change": "no break in live performance within the window"}
    subsets, skipped = training_subsets(train, [2, "since_change"], "2026-03-05", binary=True)
    assert skipped == {"since 2026-03-05": "the same partitions as last 2"}


def test_a_window_too_small_to_learn_from_is_skipped_with_the_reason() -> None:
    window = window_of(2, rows=150)
    train = window[window[SPLIT] == TRAIN]
    subsets, skipped = training_subsets(train, [1, 2], None, binary=True)
    assert [s.name for s in subsets] == ["last 2"]
    assert "fewer than 200" in skipped["last 1"]


def test_after_a_change_the_short_window_wins_in_steady_state_the_long_one() -> None:
    inputs = Inputs("binary", ("x1", "x2"))

    def fit(family: str, rows: pd.DataFrame, labels: pd.Series) -> TrainedModel:
        return fit_family(family, rows, labels, inputs)

    def run(window: pd.DataFrame) -> str:
        train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
        subsets, _ = training_subsets(train, [1, 3, 7], None, binary=True)
        contenders = compete(
            ["sklearn_linear"],
            subsets,
            train,
            train[LABEL],
            holdout,
            fit,
            lambda t, f: predict(t.family, t.model, f),
            lambda y, p: score("binary", y, p),
        )
        best = winner(contenders, "roc_auc")
        assert best is not None
        return best.window

    # The rule flips on the sixth day: the holdout (the seventh and the end of the sixth) is of
    # the new rule, and only the sixth day's training rows describe it.
    assert run(window_of(7, flip_from=5, rows=1000)) == "last 1"
    assert run(window_of(7, rows=1000)) == "last 7"


def test_a_family_that_raises_is_recorded_and_the_others_compete() -> None:
    window = window_of(3)
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    subsets, _ = training_subsets(train, [3], None, binary=True)
    inputs = Inputs("binary", ("x1", "x2"))

    def fit(family: str, rows: pd.DataFrame, labels: pd.Series) -> TrainedModel:
        if family == "sklearn_hgb":
            raise MemoryError("cannot allocate 12 GiB")
        return fit_family(family, rows, labels, inputs)

    contenders = compete(
        ["sklearn_hgb", "sklearn_linear"],
        subsets,
        train,
        train[LABEL],
        holdout,
        fit,
        lambda t, f: predict(t.family, t.model, f),
        lambda y, p: score("binary", y, p),
    )
    assert failures(contenders) == {"sklearn_hgb": "last 3: MemoryError: cannot allocate 12 GiB"}
    best = winner(contenders, "roc_auc")
    assert best is not None and best.family == "sklearn_linear" and best.value("roc_auc") > 0.7


# -- the change point and the verdicts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ({}, None),
        ({"d1": False, "d2": False}, None),
        ({"d1": False, "d2": True, "d3": True}, "d2"),
        # A recovered run still names its start; a newer run replaces it.
        ({"d1": True, "d2": True, "d3": False, "d4": False}, "d1"),
        ({"d1": True, "d2": False, "d3": True, "d4": True}, "d3"),
    ],
)
def test_the_change_point_is_where_the_newest_break_began(
    broken: dict[str, bool], expected: str | None
) -> None:
    assert change_point(broken) == expected


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


def baking(
    partition: str, live: float, previous: float, gap_exceeded: bool
) -> tuple[str, LiveScore]:
    return (
        partition,
        LiveScore(
            metric="roc_auc",
            rows=3000,
            champion_version="9",
            previous_version="8",
            baking=True,
            champion=live,
            previous=previous,
            baseline=0.95,
            worse_than_previous_by=round(previous - live, 6),
            gap_exceeded=gap_exceeded,
        ),
    )


def test_a_champion_whose_holdout_misled_goes_back_when_the_previous_did_better() -> None:
    policy = Rollback(margin=Threshold(value=0.1))
    # Worse than its previous by 0.01 only (under the margin), but its holdout missed: back.
    missed = [baking("d5", live=0.80, previous=0.81, gap_exceeded=True)]
    decision = rollback_decision(policy, "roc_auc", "9", "8", missed)
    assert decision.rollback and "did not predict production" in decision.reason
    # The same figures without a gap: held (within the margin).
    kept = [baking("d5", live=0.80, previous=0.81, gap_exceeded=False)]
    assert not rollback_decision(policy, "roc_auc", "9", "8", kept).rollback
    # A gap where the previous did no better (the world changed for both): held.
    both = [baking("d5", live=0.60, previous=0.58, gap_exceeded=True)]
    assert not rollback_decision(policy, "roc_auc", "9", "8", both).rollback
    # The policy can turn it off.
    off = Rollback(margin=Threshold(value=0.1), on_evaluation_gap=False)
    assert not rollback_decision(off, "roc_auc", "9", "8", missed).rollback


def test_declared_windows_longer_than_the_training_window_are_the_whole_window() -> None:
    assert Training(window=5, windows=[1, 3, 7, "since_change"]).candidate_windows == (
        1,
        3,
        5,
        "since_change",
    )
    assert Training(window=7).candidate_windows == (1, 3, 7, "since_change")
    with pytest.raises(ValueError, match="at least 1 partition"):
        Training(windows=[0, 3])
