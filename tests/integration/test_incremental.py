"""The incremental candidate and the search, as plain functions on real LightGBM models."""

from __future__ import annotations

import time

import pandas as pd

from ct_assets.ml.frames import LABEL
from ct_assets.ml.hpo import SearchBudget, search_lightgbm
from tests.helpers.features import SHOP
from tests.helpers.incremental import INPUTS


def test_the_search_keeps_to_its_budget_and_reports_every_trial(days: pd.DataFrame) -> None:
    seen: list[tuple[int, dict, float]] = []
    found = search_lightgbm(
        days,
        days[LABEL],
        INPUTS,
        SearchBudget(trials=4, seed=1),
        lambda n, p, v: seen.append((n, p, v)),
        SHOP.metric,
    )
    assert [n for n, _, _ in seen] == [0, 1, 2, 3] and found.trials == 4
    assert found.best_value == max(v for _, _, v in seen)
    assert set(found.best_params) >= {"learning_rate", "num_leaves", "rounds"}
    started = time.monotonic()
    bounded = search_lightgbm(
        days,
        days[LABEL],
        INPUTS,
        SearchBudget(trials=10_000, timeout_seconds=2.0),
        lambda n, p, v: None,
        SHOP.metric,
    )
    assert bounded.trials < 10_000 and time.monotonic() - started < 20
