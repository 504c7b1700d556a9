"""LightGBM: gradient-boosted trees, category codes read natively; tuned by `training.search`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ct_assets.ml.families import register
from ct_assets.ml.families.base import Inputs, TrainedModel
from ct_assets.ml.families.flavours import LightGBMBooster, lightgbm_frame, lightgbm_name
from ct_assets.ml.tags import Search
from ct_assets.ml.vocabulary import BINARY, REGRESSION

if TYPE_CHECKING:
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    from ct_assets.ml.hpo import SearchBudget, TrialLog

NAME = "lightgbm"
OBJECTIVES = {BINARY: "binary", REGRESSION: "regression"}
LIGHTGBM_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "seed": 13,
    "verbose": -1,
    # One thread: runs share two cores and LightGBM's OpenMP team would otherwise thrash.
    "num_threads": 1,
}
LIGHTGBM_ROUNDS = 150


def lightgbm_params(task: str) -> dict[str, Any]:
    return {"objective": OBJECTIVES[task], **LIGHTGBM_PARAMS}


def lightgbm_dataset(
    frame: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    inputs: Inputs,
    reusable: bool = False,
) -> lgb.Dataset:
    """A LightGBM dataset; `reusable` keeps every feature so that trials with other leaf sizes
    can train on the same binned data."""
    import lightgbm as lgb

    # Category codes are learned from the training rows: a code first seen later (in the
    # holdout or at serving time) falls on the side LightGBM keeps for unseen categories.
    return lgb.Dataset(
        lightgbm_frame(frame, inputs.features),
        label=labels,
        categorical_feature=[lightgbm_name(c) for c in inputs.categorical] or "auto",
        params={"feature_pre_filter": False} if reusable else None,
    )


def train_lightgbm(
    train: pd.DataFrame,
    labels: pd.Series,
    inputs: Inputs,
    tuned: dict[str, Any] | None = None,
    name: str = NAME,
) -> TrainedModel:
    """LightGBM with the default parameters, or with `tuned` ones (a search's best, which may
    set `rounds`) laid over them."""
    import lightgbm as lgb

    params = {**lightgbm_params(inputs.task), "rounds": LIGHTGBM_ROUNDS, **(tuned or {})}
    rounds = int(params.pop("rounds"))
    booster = lgb.train(params, lightgbm_dataset(train, labels, inputs), num_boost_round=rounds)
    return TrainedModel(name, booster, {**params, "rounds": rounds})


class LightGBM(LightGBMBooster):
    name = NAME
    description = "LightGBM gradient-boosted trees (tuned when training.search is on)"
    by_default = True
    rank = 10
    searchable = True

    def train(self, rows: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
        return train_lightgbm(rows, labels, inputs)

    def search(
        self,
        rows: pd.DataFrame,
        labels: pd.Series,
        inputs: Inputs,
        budget: SearchBudget,
        on_trial: TrialLog,
        metric: str,
    ) -> TrainedModel:
        from ct_assets.ml.hpo import search_lightgbm

        found = search_lightgbm(rows, labels, inputs, budget, on_trial, metric)
        model = train_lightgbm(rows, labels, inputs, found.best_params)
        model.tags.update(Search(trials=found.trials, best_value=found.best_value).tags())
        return model


register(LightGBM())
