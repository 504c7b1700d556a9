"""Every model family on a user's column names: spaces, brackets, colons, commas, percent signs.

LightGBM refuses JSON special characters in feature names and rewrites whitespace, so names
like these used to break training or the serving contract; the families must read them as
declared.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from ct_assets.ml import families
from ct_assets.ml.families.lightgbm import NAME as LIGHTGBM
from ct_assets.ml.frames import BATCH, FEATURE_SET, LABEL, PARTITION, TIME
from ct_assets.ml.hpo import SearchBudget, search_lightgbm
from ct_assets.ml.incremental import Base, plan_refresh, refresh
from ct_assets.ml.training import (
    Inputs,
    lightgbm_name,
    model_features,
    predict,
    train_family,
    training_labels,
)
from ct_assets.ml.vocabulary import BINARY, REGRESSION

AWKWARD = ("Total Amount (USD)", "Price [EUR]", "ratio a:b", "x,y", "100% sure", "plan {tier}")


def frame(task: str, rows: int = 1200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = {name: rng.normal(size=rows) for name in AWKWARD[:-1]}
    values[AWKWARD[-1]] = rng.integers(0, 3, rows)  # a category's integer codes
    signal = values[AWKWARD[0]] - 0.5 * values[AWKWARD[1]] + 0.8 * (values[AWKWARD[-1]] == 2)
    label = (signal + rng.normal(0, 0.5, rows) > 0).astype(int) if task == BINARY else signal
    out = pd.DataFrame({**values, LABEL: label})
    out[BATCH] = np.where(np.arange(rows) < rows // 2, "b0", "b1")
    out[PARTITION] = np.where(np.arange(rows) < rows // 2, "2026-01-01", "2026-01-02")
    out[FEATURE_SET] = "fs1"
    out[TIME] = pd.date_range("2026-01-01", periods=rows, freq="2min", tz="UTC")
    return out


def inputs_for(task: str) -> Inputs:
    return Inputs(task, AWKWARD, (AWKWARD[-1],))


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


@pytest.mark.parametrize("task", [BINARY, REGRESSION])
@pytest.mark.parametrize("family", families.names())
def test_every_family_trains_and_predicts_on_awkward_column_names(family: str, task: str) -> None:
    data = frame(task)
    trained = train_family(family, data, inputs_for(task))
    assert model_features(family, trained.model) == list(AWKWARD)
    # Serving sends the declared names, in any order, with other columns beside them.
    shuffled = data[[LABEL, *reversed(AWKWARD), BATCH]]
    predicted = predict(family, trained.model, shuffled)
    assert predicted.shape == (len(data),) and np.isfinite(predicted).all()
    np.testing.assert_allclose(predicted, predict(family, trained.model, data))
    if task == BINARY:
        assert ((predicted >= 0) & (predicted <= 1)).all()
        assert np.corrcoef(predicted, data[LABEL])[0, 1] > 0.3
    else:
        assert np.corrcoef(predicted, data[LABEL])[0, 1] > 0.5


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
