"""Unit tests of ct_assets/ml/training.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd

from ct_assets.ml.competition import compete, failures, winner
from ct_assets.ml.evaluation import score
from ct_assets.ml.families import Inputs, TrainedModel
from ct_assets.ml.families.flavours import lightgbm_name
from ct_assets.ml.families.lightgbm import NAME as LIGHTGBM
from ct_assets.ml.families.lightgbm import lightgbm_params, train_lightgbm
from ct_assets.ml.features import (
    build_features,
)
from ct_assets.ml.frames import (
    FEATURE_SET,
    HOLDOUT,
    LABEL,
    PARTITION,
    SPLIT,
    TRAIN,
)
from ct_assets.ml.hpo import SearchBudget, search_lightgbm
from ct_assets.ml.incremental import (
    Base,
    plan_refresh,
    refresh,
)
from ct_assets.ml.training import fit_family, model_features, predict, train_family, training_labels
from ct_assets.ml.vocabulary import BINARY
from ct_assets.ml.windows import training_subsets
from examples.energy.generator import MeterSource
from examples.shop.generator import COUNTRIES, DriftingSource
from tests.helpers.features import ENERGY, SHOP, validated
from tests.helpers.incremental import base_of, day
from tests.helpers.live_decisions import window_of
from tests.helpers.training import AWKWARD, frame, inputs_for


def test_categories_are_learned_on_the_training_rows_only() -> None:
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=2000, drift_day=100)
    events = validated(pd.concat([source.day(0), source.day(1)], ignore_index=True), SHOP, "b")
    rows = build_features(events, SHOP)
    countries = list(SHOP.column("country").categories or [])
    assert tuple(countries) == COUNTRIES
    brazil, us = countries.index("BR"), countries.index("US")
    inputs = Inputs(SHOP.task.type, SHOP.feature_names, SHOP.categorical_inputs)
    booster = train_family("lightgbm", rows[rows["country"] != brazil], inputs).model
    seen = booster.dump_model()["feature_infos"]["country"]["values"]
    assert brazil not in seen and us in seen
    # A code never seen in training is treated like any other unseen one.
    held = rows[rows["country"] == brazil].head(50)
    assert np.allclose(
        predict("lightgbm", booster, held),
        predict("lightgbm", booster, held.assign(country=99)),
    )


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


def test_escaped_names_are_kept_by_lightgbm_and_map_back_exactly() -> None:
    names = [lightgbm_name(n) for n in (*AWKWARD, "a%20b", "a b")]
    # Injective: a name that looks escaped already stays apart from the name it looks like.
    assert len(set(names)) == len(names)
    data = frame(BINARY)
    renamed = data[list(AWKWARD)].rename(columns=lightgbm_name)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(renamed, data[LABEL]), 3
    )
    assert booster.feature_name() == list(renamed.columns)
    assert model_features(LIGHTGBM, booster) == list(AWKWARD)


def test_a_lightgbm_model_is_the_same_whatever_its_columns_are_called() -> None:
    data = frame(BINARY)
    ours = train_family(LIGHTGBM, data, inputs_for(BINARY)).model
    plain = [f"f{i}" for i in range(len(AWKWARD))]
    renamed = data.rename(columns=dict(zip(AWKWARD, plain, strict=True)))
    theirs = train_family(LIGHTGBM, renamed, Inputs(BINARY, tuple(plain), (plain[-1],))).model
    np.testing.assert_allclose(
        predict(LIGHTGBM, ours, data), predict(LIGHTGBM, theirs, renamed), rtol=1e-12
    )


def test_a_refresh_and_a_search_read_awkward_names_too() -> None:
    data = frame(BINARY)
    inputs = inputs_for(BINARY)
    first = data[data[PARTITION] == "2026-01-01"]
    champion = train_family(LIGHTGBM, first, inputs).model
    base = Base(
        "1",
        LIGHTGBM,
        {
            "ct.training_partitions": "2026-01-01",
            "ct.batch_ids": "b0",
            "ct.feature_set_id": "fs1",
        },
    )
    plan = plan_refresh(data, base, "fs1", 7)
    assert plan.refresh, plan.reason
    refreshed = refresh(champion, data, training_labels(data), plan, rounds=5, inputs=inputs)
    assert refreshed.model.num_trees() == champion.num_trees() + 5
    assert refreshed.tags["ct.selected_features"] == ",".join(AWKWARD)
    assert model_features(LIGHTGBM, refreshed.model) == list(AWKWARD)

    found = search_lightgbm(
        data, data[LABEL], inputs, SearchBudget(trials=2, seed=1), lambda *_: None, "roc_auc"
    )
    assert found.trials == 2 and found.best_value > 0.6
