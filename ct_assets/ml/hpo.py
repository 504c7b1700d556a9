"""Optional hyper-parameter search for the LightGBM candidate, within a bounded budget.

Trials are judged on the last slice in time of the training rows, never on the holdout: the
holdout decides promotion, and a search that saw it would flatter every candidate it tunes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ct_assets.ml.frames import TIME

if TYPE_CHECKING:
    import optuna

    from ct_assets.ml.families import Inputs

# Called once per finished trial: its number, parameters and validation metric.
TrialLog = Callable[[int, dict[str, Any], float], None]


@dataclass(frozen=True)
class SearchBudget:
    trials: int = 0  # 0: no search, the default parameters
    timeout_seconds: float = 300.0
    validation_fraction: float = 0.2
    seed: int = 0

    @property
    def enabled(self) -> bool:
        return self.trials > 0


@dataclass(frozen=True)
class SearchResult:
    best_params: dict[str, Any]
    best_value: float
    trials: int


def _suggest(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.6, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        "rounds": trial.suggest_int("rounds", 50, 300, step=50),
    }


def search_lightgbm(
    train: pd.DataFrame,
    labels: pd.Series,
    inputs: Inputs,
    budget: SearchBudget,
    on_trial: TrialLog,
    metric: str,
) -> SearchResult:
    """Tree-structured Parzen search (optuna) over LightGBM's main parameters, judged by the
    project's primary metric in its own direction.

    Stops after `budget.trials` trials or `budget.timeout_seconds`, whichever comes first.
    """
    # Settings read SearchBudget at every code-location load; the search libraries wait for it.
    import lightgbm as lgb
    import optuna

    from ct_assets.ml.evaluation import metric_value
    from ct_assets.ml.families.flavours import lightgbm_frame
    from ct_assets.ml.families.lightgbm import lightgbm_dataset, lightgbm_params
    from ct_assets.ml.vocabulary import METRIC

    order = train[TIME].argsort(kind="stable").to_numpy()
    cut = int(len(order) * (1.0 - budget.validation_fraction))
    if cut < 1 or cut >= len(order):
        raise ValueError(f"{len(train)} training rows are too few to hold out a validation slice")
    fit_rows, valid_rows = order[:cut], order[cut:]
    fit = lightgbm_dataset(train.iloc[fit_rows], labels.iloc[fit_rows], inputs, reusable=True)
    valid = lightgbm_frame(train.iloc[valid_rows], inputs.features)
    valid_labels = labels.iloc[valid_rows].to_numpy()
    if metric == "roc_auc" and len(set(valid_labels)) < 2:
        raise ValueError("the validation slice of the training rows holds a single class")

    def objective(trial: optuna.Trial) -> float:
        chosen = _suggest(trial)
        params = {**lightgbm_params(inputs.task), **chosen}
        rounds = params.pop("rounds")
        booster = lgb.train(params, fit, num_boost_round=rounds)
        value = metric_value(metric, valid_labels, np.asarray(booster.predict(valid)))
        assert value is not None
        on_trial(trial.number, chosen, value)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if METRIC[metric].higher_is_better else "minimize",
        sampler=optuna.samplers.TPESampler(seed=budget.seed),
    )
    study.optimize(objective, n_trials=budget.trials, timeout=budget.timeout_seconds)
    return SearchResult(dict(study.best_params), float(study.best_value), len(study.trials))
