"""Unit tests of ct_assets/ml/hpo.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ct_assets.ml.families import Inputs
from ct_assets.ml.frames import LABEL
from ct_assets.ml.hpo import SearchBudget, search_lightgbm
from examples.energy.generator import MeterSource
from tests.helpers.features import ENERGY
from tests.helpers.incremental import day


def test_a_search_on_a_regression_minimises_its_metric() -> None:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=600, drift_day=100)
    meters = pd.concat([day(i, source, ENERGY) for i in range(2)], ignore_index=True)
    inputs = Inputs(ENERGY.task.type, ENERGY.feature_names, ENERGY.categorical_inputs)
    seen: list[float] = []
    found = search_lightgbm(
        meters,
        meters[LABEL],
        inputs,
        SearchBudget(trials=4, seed=1),
        lambda n, p, v: seen.append(v),
        ENERGY.metric,
    )
    assert ENERGY.metric == "rmse" and found.trials == 4 and len(seen) == 4
    # RMSE: lower is better, so the best is the smallest, in the label's units.
    assert found.best_value == min(seen) and 0 < found.best_value < meters[LABEL].std()
