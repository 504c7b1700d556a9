"""Window selection and the time-based holdout, without Dagster."""

from __future__ import annotations

from datetime import date

import numpy as np

from ct_assets.ml.families import Inputs
from ct_assets.ml.features import build_features
from ct_assets.ml.frames import HOLDOUT, LABEL, PARTITION, SPLIT, TIME, TRAIN
from ct_assets.ml.training import predict, train_family
from ct_assets.ml.windows import (
    assemble_window,
    summarize_window,
)
from examples.energy.generator import MeterSource
from tests.helpers.features import ENERGY, validated


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
