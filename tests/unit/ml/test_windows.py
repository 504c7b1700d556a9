"""Unit tests of ct_assets/ml/windows.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from ct_assets.ml.features import build_features
from ct_assets.ml.frames import (
    BATCH,
    ENTITY,
    FEATURE_SET,
    HOLDOUT,
    LABEL,
    PARTITION,
    SPLIT,
    TIME,
    TRAIN,
)
from ct_assets.ml.split_strategies import BUILT_IN
from ct_assets.ml.windows import (
    assemble_window,
    expected_partitions,
    split_warnings,
    summarize_window,
    training_subsets,
)
from ct_assets.project.spec import Training
from examples.energy.generator import MeterSource
from tests.helpers.features import ENERGY, validated
from tests.helpers.live_decisions import window_of
from tests.helpers.splits import parts


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


@pytest.mark.parametrize("strategy", [s for s in BUILT_IN if s != "group"])
def test_every_row_strategy_holds_out_about_the_fraction(strategy: str) -> None:
    window = assemble_window(parts(), 0.25, strategy, seed=1)
    share = float((window[SPLIT] == HOLDOUT).mean())
    assert 0.15 < share < 0.35, (strategy, share)


def test_the_time_cut_warns_of_nothing_and_random_cuts_warn_of_time_leakage() -> None:
    assert split_warnings(assemble_window(parts(), 0.2, "time"), "time") == []
    for strategy in ("random", "shuffled", "stratified"):
        warned = split_warnings(assemble_window(parts(), 0.2, strategy), strategy)
        assert any(w.startswith("time leakage:") for w in warned), strategy
        assert any(w.startswith("entity overlap:") for w in warned), strategy


def test_the_group_cut_keeps_every_entity_on_one_side() -> None:
    window = assemble_window(parts(), 0.2, "group")
    held = window[SPLIT] == HOLDOUT
    assert not set(window.loc[held, ENTITY]) & set(window.loc[~held, ENTITY])
    # The fraction is of entities, not rows: busy entities make the row share differ.
    held_entities = window.loc[held, ENTITY].nunique() / window[ENTITY].nunique()
    assert abs(held_entities - 0.2) < 0.02
    assert not any(w.startswith("entity overlap") for w in split_warnings(window, "group"))


def test_the_stratified_cut_keeps_the_label_rate() -> None:
    window = assemble_window(parts(), 0.2, "stratified")
    held = window[SPLIT] == HOLDOUT
    assert abs(window.loc[held, LABEL].mean() - window.loc[~held, LABEL].mean()) < 0.01


def test_the_sequential_cut_holds_out_the_last_delivered_rows() -> None:
    days = parts()
    shuffled_last = {
        k: (v.sample(frac=1, random_state=0) if k == max(days) else v) for k, v in days.items()
    }
    window = assemble_window(shuffled_last, 0.2, "sequential")
    assert set(window.loc[window[SPLIT] == HOLDOUT, BATCH]) == {"b2"}


def meter_parts(days: int = 3) -> dict[str, pd.DataFrame]:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=400, drift_day=100)
    return {
        f"2026-01-0{i + 1}": build_features(validated(source.day(i), ENERGY, f"m{i}"), ENERGY)
        for i in range(days)
    }


@pytest.mark.parametrize("strategy", ["time", "sequential", "random", "shuffled"])
def test_without_an_entity_every_row_strategy_cuts_and_no_entity_overlap_is_claimed(
    strategy: str,
) -> None:
    window = assemble_window(meter_parts(), 0.25, strategy, seed=1)
    share = float((window[SPLIT] == HOLDOUT).mean())
    assert 0.15 < share < 0.35, (strategy, share)
    warned = split_warnings(window, strategy)
    assert not any(w.startswith("entity overlap") for w in warned), warned
    if strategy in ("random", "shuffled"):
        assert any(w.startswith("time leakage:") for w in warned), strategy
    else:
        assert warned == [], strategy


KEYS = [f"2026-01-{d:02d}" for d in range(1, 11)]


@pytest.mark.parametrize(
    ("last", "size", "expected"),
    [
        ("2026-01-05", 3, ["2026-01-03", "2026-01-04", "2026-01-05"]),
        ("2026-01-02", 3, ["2026-01-01", "2026-01-02"]),
        ("2026-01-10", 1, ["2026-01-10"]),
    ],
)
def test_expected_partitions(last: str, size: int, expected: list[str]) -> None:
    assert expected_partitions(KEYS, last, size) == expected


def day(key: str, hours: int = 10) -> pd.DataFrame:
    times = pd.date_range(key, periods=hours, freq="1h", tz="UTC")
    return pd.DataFrame({TIME: times, BATCH: f"b-{key}", LABEL: [0, 1] * (hours // 2)})


def test_holdout_is_the_most_recent_slice_in_time() -> None:
    # Partitions given out of order must still be cut by time.
    parts = {"2026-01-03": day("2026-01-03"), "2026-01-01": day("2026-01-01")}
    window = assemble_window(parts, holdout_fraction=0.2)
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    assert train[TIME].max() < holdout[TIME].min()
    assert len(holdout) == 4
    assert set(holdout[PARTITION]) == {"2026-01-03"}


def test_a_window_above_max_rows_is_a_seeded_draw_cut_by_time_as_any() -> None:
    parts = {k: day(k, hours=100) for k in ("2026-01-01", "2026-01-02")}
    window = assemble_window(parts, holdout_fraction=0.2, seed=3, max_rows=50)
    assert len(window) == 50
    assert set(window[PARTITION]) == set(parts)  # drawn from the whole window, not its head
    assert window[TIME].is_monotonic_increasing
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    assert len(holdout) == 10 and train[TIME].max() < holdout[TIME].min()
    again = assemble_window(parts, holdout_fraction=0.2, seed=3, max_rows=50)
    pd.testing.assert_frame_equal(window, again)
    assert len(assemble_window(parts, holdout_fraction=0.2, max_rows=1_000)) == 200


def test_window_summary_names_missing_partitions_and_batches() -> None:
    parts = {"2026-01-01": day("2026-01-01"), "2026-01-03": day("2026-01-03")}
    window = assemble_window(parts, holdout_fraction=0.25)
    summary = summarize_window(window, ["2026-01-01", "2026-01-02", "2026-01-03"])
    assert summary.partitions == ["2026-01-01", "2026-01-03"]
    assert summary.missing == ["2026-01-02"]
    assert summary.batch_ids == ["b-2026-01-01", "b-2026-01-03"]
    assert summary.train_rows + summary.holdout_rows == 20
    assert summary.label_mean == 0.5
    assert summary.cutoff == window.loc[window[SPLIT] == HOLDOUT, TIME].min().isoformat()


def test_empty_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        assemble_window({"2026-01-01": day("2026-01-01").head(0)}, 0.2)


def test_a_window_of_two_feature_sets_is_refused() -> None:
    parts = {
        "2026-01-01": day("2026-01-01").assign(**{FEATURE_SET: "fs-old"}),
        "2026-01-02": day("2026-01-02").assign(**{FEATURE_SET: "fs-new"}),
    }
    with pytest.raises(ValueError, match=r"mixes feature sets \(fs-new: 2026-01-02; fs-old"):
        assemble_window(parts, 0.2)
