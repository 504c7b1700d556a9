"""Candidate model families per task: how each is trained and how each predicts a frame.

Binary: the probability of the positive class; regression: the predicted value. Each family has
a model per task (LightGBM's objective, logistic vs ridge regression, HistGradientBoosting's
classifier vs regressor), so adding a task (multiclass) means a model per family here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ct_assets.crash import crash_point
from ct_assets.ml.frames import LABEL
from ct_assets.ml.vocabulary import (
    BINARY,
    BOOSTERS,
    LIGHTGBM,
    SKLEARN_HGB,
    SKLEARN_LINEAR,
)

OBJECTIVES = {BINARY: "binary", "regression": "regression"}
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
HGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 150,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "random_state": 13,
}


@dataclass(frozen=True)
class Inputs:
    """What a model reads: the features in order, which of them are category codes, the task."""

    task: str
    features: tuple[str, ...]
    categorical: tuple[str, ...] = ()

    def only(self, kept: Sequence[str]) -> Inputs:
        return Inputs(
            self.task,
            tuple(f for f in self.features if f in kept),
            tuple(c for c in self.categorical if c in kept),
        )

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if f not in self.categorical)


@dataclass
class TrainedModel:
    family: str
    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    # Tags the family adds to the run and version (an incremental model names its base).
    tags: dict[str, str] = field(default_factory=dict)


# LightGBM refuses a feature name holding a JSON special character and silently turns
# whitespace into "_", after which its feature names no longer name the frame's columns. A
# user's columns ("Price [EUR]", "Total Amount") reach it %-escaped (the escape of "%" too, so
# the names map back exactly), and everything outside LightGBM sees the declared names.
_LIGHTGBM_UNSAFE = frozenset(' \t\n\r\x0b\x0c",:[]{}%')


def lightgbm_name(name: str) -> str:
    """A feature name LightGBM keeps as it is; `unquote` gives the name back."""
    return "".join(f"%{ord(c):02X}" if c in _LIGHTGBM_UNSAFE else c for c in name)


def lightgbm_frame(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The feature columns, in order, under the names LightGBM keeps."""
    out = frame[list(features)]  # a new frame already: renaming it in place copies nothing
    out.columns = [lightgbm_name(f) for f in features]
    return out


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
) -> TrainedModel:
    """LightGBM with the default parameters, or with `tuned` ones (a search's best, which may
    set `rounds`) laid over them."""
    params = {**lightgbm_params(inputs.task), "rounds": LIGHTGBM_ROUNDS, **(tuned or {})}
    rounds = int(params.pop("rounds"))
    booster = lgb.train(params, lightgbm_dataset(train, labels, inputs), num_boost_round=rounds)
    return TrainedModel(LIGHTGBM, booster, {**params, "rounds": rounds})


def importance(train: pd.DataFrame, inputs: Inputs) -> dict[str, float]:
    """Total gain per feature of a LightGBM model on the training rows (for top-K selection)."""
    booster = train_lightgbm(train, train[LABEL], inputs).model
    gains = booster.feature_importance(importance_type="gain")
    names = model_features(LIGHTGBM, booster)
    return {n: round(float(g), 3) for n, g in zip(names, gains, strict=True)}


def own_importance(family: str, model: Any) -> dict[str, float] | None:
    """What a model learnt to lean on, by its own measure (a booster's total gain per feature);
    None for a family without one. Unlike a permutation on one partition's rows, it shows a
    feature that is constant within that partition, such as a day of week."""
    if family not in BOOSTERS:
        return None
    gains = model.feature_importance(importance_type="gain")
    return {n: float(g) for n, g in zip(model_features(family, model), gains, strict=True)}


def train_linear(train: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
    """The linear baseline: logistic regression (binary) or ridge regression."""
    encode = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                list(inputs.numeric),
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(inputs.categorical)),
        ]
    )
    if inputs.task == BINARY:
        model: Any = LogisticRegression(C=1.0, max_iter=500)
        params: dict[str, Any] = {"model": "logistic_regression", "C": 1.0, "max_iter": 500}
    else:
        model, params = Ridge(alpha=1.0), {"model": "ridge", "alpha": 1.0}
    pipeline = Pipeline([("encode", encode), ("model", model)])
    pipeline.fit(train[list(inputs.features)], labels)
    return TrainedModel(SKLEARN_LINEAR, pipeline, params)


def train_hgb(train: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
    # HistGradientBoosting reads missing values natively and treats negative category codes
    # (ct's "missing or unknown") as missing, so it needs no imputer or encoder.
    kind = (
        HistGradientBoostingClassifier if inputs.task == BINARY else HistGradientBoostingRegressor
    )
    model = kind(categorical_features=list(inputs.categorical) or None, **HGB_PARAMS)
    model.fit(train[list(inputs.features)], labels)
    return TrainedModel(SKLEARN_HGB, model, dict(HGB_PARAMS))


TRAINERS: dict[str, Callable[[pd.DataFrame, pd.Series, Inputs], TrainedModel]] = {
    LIGHTGBM: train_lightgbm,
    SKLEARN_LINEAR: train_linear,
    SKLEARN_HGB: train_hgb,
}


def training_labels(train: pd.DataFrame, permute_labels_seed: int | None = None) -> pd.Series:
    """The labels to learn; a permutation seed shuffles them (a negative control)."""
    labels = train[LABEL]
    if permute_labels_seed is not None:
        rng = np.random.default_rng(permute_labels_seed)
        labels = pd.Series(rng.permutation(labels.to_numpy()), index=labels.index)
    return labels


def fit_family(family: str, train: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
    """Train one family from scratch on the training rows and the given labels."""
    if family not in TRAINERS:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(TRAINERS)}")
    crash_point("training.fit")
    return TRAINERS[family](train, labels, inputs)


def train_family(
    family: str,
    train: pd.DataFrame,
    inputs: Inputs,
    permute_labels_seed: int | None = None,
) -> TrainedModel:
    """Train one family from scratch on the training rows' own (or permuted) labels."""
    return fit_family(family, train, training_labels(train, permute_labels_seed), inputs)


def model_features(family: str, model: Any) -> list[str]:
    """The columns a trained model reads, in order: its serving contract (and signature)."""
    if family in BOOSTERS:
        return [unquote(n) for n in model.feature_name()]
    if family in (SKLEARN_LINEAR, SKLEARN_HGB):
        return list(model.feature_names_in_)
    raise ValueError(f"unknown model family {family!r}")


def predict(family: str, model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Binary: probability of the positive class; regression: the value, whichever family."""
    features = model_features(family, model)
    if family in BOOSTERS:
        return np.asarray(model.predict(lightgbm_frame(frame, features)), dtype=float)
    columns = frame[features]
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(columns)[:, 1], dtype=float)
    return np.asarray(model.predict(columns), dtype=float)
