"""Window selection and the time-based holdout, without Dagster."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.features import build_features
from ct_assets.ml.frames import BATCH, FEATURE_SET, HOLDOUT, LABEL, PARTITION, SPLIT, TIME, TRAIN
from ct_assets.ml.training import Inputs, predict, train_family
from ct_assets.ml.windows import (
    assemble_window,
    expected_partitions,
    summarize_window,
)
from examples.energy.generator import MeterSource
from tests.test_features import ENERGY, validated

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


def test_a_regression_window_is_cut_trained_and_predicted() -> None:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=800, drift_day=100)
    parts = {
        f"2026-01-0{i + 1}": build_features(validated(source.day(i), ENERGY, f"m{i}"), ENERGY)
        for i in range(3)
    }
    window = assemble_window(parts, ENERGY.training.holdout_fraction, ENERGY.training.split)
    summary = summarize_window(window, ["2026-01-01", "2026-01-02", "2026-01-03"])
    assert summary.missing == [] and summary.batch_ids == ["m0", "m1", "m2"]
    assert summary.label_mean == round(float(window[LABEL].mean()), 4) > 40
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    assert train[TIME].max() <= holdout[TIME].min()
    assert set(holdout[PARTITION]) == {"2026-01-03"}
    inputs = Inputs(ENERGY.task.type, ENERGY.feature_names, ENERGY.categorical_inputs)
    baseline = float(np.mean((holdout[LABEL] - train[LABEL].mean()) ** 2))
    for family in ("lightgbm", "sklearn_linear", "sklearn_hgb"):
        model = train_family(family, train, inputs).model
        predicted = predict(family, model, holdout)
        assert predicted.shape == (len(holdout),) and np.isfinite(predicted).all(), family
        # Values in the label's units, not probabilities; far better than the mean.
        assert predicted.max() > 1.0, family
        error = float(np.mean((holdout[LABEL].to_numpy() - predicted) ** 2))
        assert error < 0.5 * baseline, (family, error, baseline)
