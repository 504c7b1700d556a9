"""The incremental candidate and the search, as plain functions on real LightGBM models."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.features import build_features
from ct_assets.ml.frames import BATCH, FEATURE_SET, LABEL, PARTITION
from ct_assets.ml.hpo import SearchBudget, search_lightgbm
from ct_assets.ml.incremental import (
    BASE_TAG,
    INCREMENTAL,
    MODE_TAG,
    SINCE_FULL_TAG,
    Base,
    plan_refresh,
    refresh,
)
from ct_assets.ml.training import Inputs, lightgbm_params, train_lightgbm, training_labels
from ct_assets.project.spec import ProjectSpec
from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource
from tests.test_features import ENERGY, SHOP, validated

SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=1000, drift_day=100)
INPUTS = Inputs(SHOP.task.type, SHOP.feature_names, SHOP.categorical_inputs)


def day(index: int, source: Any = SOURCE, spec: ProjectSpec = SHOP) -> pd.DataFrame:
    events = validated(source.day(index), spec, f"b{index}")
    features = build_features(events, spec)
    return features.assign(**{PARTITION: f"2026-01-0{index + 1}"})


@pytest.fixture(scope="module")
def days() -> pd.DataFrame:
    return pd.concat([day(i) for i in range(3)], ignore_index=True)


def base_of(train: pd.DataFrame, version: str = "1", family: str = "lightgbm", **tags: str) -> Base:
    return Base(
        version,
        family,
        {
            "ct.training_partitions": ",".join(sorted(train[PARTITION].unique())),
            "ct.batch_ids": ",".join(sorted(train[BATCH].unique())),
            "ct.feature_set_id": str(train[FEATURE_SET].iloc[0]),
            **tags,
        },
    )


def test_nothing_to_continue_from_is_said_plainly(days: pd.DataFrame) -> None:
    set_id = str(days[FEATURE_SET].iloc[0])
    assert plan_refresh(days, None, set_id, 7).reason == "no champion to continue from"
    linear = plan_refresh(days, base_of(days[:1000], family="sklearn_linear"), set_id, 7)
    assert not linear.refresh and "sklearn_linear, not a LightGBM booster" in linear.reason
    other_set = plan_refresh(days, base_of(days[:1000]), "fs-other", 7)
    assert not other_set.refresh and "fs-other" in other_set.reason
    seen = plan_refresh(days, base_of(days), set_id, 7)
    assert not seen.refresh and "has not seen" in seen.reason


def test_only_rows_the_champion_has_not_seen_are_new(days: pd.DataFrame) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    plan = plan_refresh(days, base_of(first), str(days[FEATURE_SET].iloc[0]), 7)
    assert plan.refresh and plan.new_partitions == ("2026-01-02", "2026-01-03")
    assert plan.new_rows is not None and int(plan.new_rows.sum()) == 2000
    assert plan.since_full == 2
    # A late batch for a day the champion saw is new too, though no partition is.
    late = pd.concat([first, first.head(50).assign(**{BATCH: "late"})], ignore_index=True)
    plan = plan_refresh(late, base_of(first), str(days[FEATURE_SET].iloc[0]), 7)
    assert plan.refresh and plan.new_partitions == ()
    assert plan.new_rows is not None and int(plan.new_rows.sum()) == 50


def test_the_chain_ends_after_full_every_partitions(days: pd.DataFrame) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    set_id = str(days[FEATURE_SET].iloc[0])
    # Already 5 partitions from its full retrain; two more would make 7.
    due = plan_refresh(days, base_of(first, **{SINCE_FULL_TAG: "5"}), set_id, 7)
    assert not due.refresh and due.reason.startswith("full retrain due")
    assert plan_refresh(days, base_of(first, **{SINCE_FULL_TAG: "4"}), set_id, 7).refresh


def test_a_refresh_continues_the_champion_s_trees_on_the_new_rows(days: pd.DataFrame) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    champion = train_lightgbm(first, first[LABEL], INPUTS).model
    plan = plan_refresh(days, base_of(first, version="4"), str(days[FEATURE_SET].iloc[0]), 7)
    refreshed = refresh(champion, days, training_labels(days), plan, rounds=20, inputs=INPUTS)
    booster = refreshed.model
    assert booster.num_trees() == champion.num_trees() + 20
    # The first trees are the champion's, unchanged.
    inputs = days[booster.feature_name()].head(200)
    np.testing.assert_allclose(
        booster.predict(inputs, num_iteration=champion.num_trees()), champion.predict(inputs)
    )
    assert not np.allclose(booster.predict(inputs), champion.predict(inputs))
    assert refreshed.tags[MODE_TAG] == INCREMENTAL and refreshed.tags[BASE_TAG] == "4"
    assert refreshed.tags["ct.step_partitions"] == "2026-01-02,2026-01-03"
    assert refreshed.tags["ct.training_partitions"] == "2026-01-01,2026-01-02,2026-01-03"
    assert refreshed.tags["ct.batch_ids"] == "b0,b1,b2"
    assert refreshed.params["new_rows"] == 2000
    assert refreshed.params["objective"] == "binary"


def test_a_refresh_reads_the_champion_s_features_whatever_this_run_selected(
    days: pd.DataFrame,
) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    kept = [f for f in SHOP.feature_names if f not in ("country", "hour")]
    champion = train_lightgbm(first, first[LABEL], INPUTS.only(kept)).model
    assert champion.feature_name() == kept
    plan = plan_refresh(days, base_of(first), str(days[FEATURE_SET].iloc[0]), 7)
    refreshed = refresh(champion, days, training_labels(days), plan, rounds=5, inputs=INPUTS)
    assert refreshed.model.feature_name() == kept
    assert refreshed.tags["ct.selected_features"] == ",".join(kept)


def test_a_regression_champion_is_continued_as_a_regression() -> None:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=800, drift_day=1)
    meters = pd.concat([day(i, source, ENERGY) for i in range(3)], ignore_index=True)
    inputs = Inputs(ENERGY.task.type, ENERGY.feature_names, ENERGY.categorical_inputs)
    assert lightgbm_params("regression")["objective"] == "regression"
    first = meters[meters[PARTITION] == "2026-01-01"]
    champion = train_lightgbm(first, first[LABEL], inputs).model
    plan = plan_refresh(meters, base_of(first), str(meters[FEATURE_SET].iloc[0]), 7)
    assert plan.refresh and plan.new_partitions == ("2026-01-02", "2026-01-03")
    refreshed = refresh(champion, meters, training_labels(meters), plan, rounds=40, inputs=inputs)
    booster = refreshed.model
    assert booster.num_trees() == champion.num_trees() + 40
    assert refreshed.params["objective"] == "regression"
    # Predictions are loads in kWh, and the refresh learnt the shifted days better.
    shifted = meters[meters[PARTITION] != "2026-01-01"]
    before = champion.predict(shifted[booster.feature_name()])
    after = booster.predict(shifted[booster.feature_name()])
    assert after.min() > 1.0
    target = shifted[LABEL].to_numpy()
    assert np.mean((after - target) ** 2) < np.mean((before - target) ** 2)


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
