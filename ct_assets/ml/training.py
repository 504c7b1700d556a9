"""Candidate model families: how each is trained and how each scores a frame."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ct_assets.ml.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, NUMERIC_FEATURES
from ct_assets.ml.schema import LABEL
from ct_assets.ml.vocabulary import (
    BOOSTERS,
    LIGHTGBM,
    SKLEARN_HGB,
    SKLEARN_LOGREG,
)

LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
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


@dataclass
class TrainedModel:
    family: str
    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    # Tags the family adds to the run and version (an incremental model names its base).
    tags: dict[str, str] = field(default_factory=dict)


def inputs(frame: pd.DataFrame, features: Sequence[str] = FEATURE_COLUMNS) -> pd.DataFrame:
    return frame[list(features)]


def lightgbm_dataset(
    frame: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    features: Sequence[str],
    reusable: bool = False,
) -> lgb.Dataset:
    """A LightGBM dataset; `reusable` keeps every feature so that trials with other leaf sizes
    can train on the same binned data."""
    # Category codes are learned from the training rows: a code first seen later (in the
    # holdout or at serving time) falls on the side LightGBM keeps for unseen categories.
    categorical = [c for c in CATEGORICAL_FEATURES if c in features]
    return lgb.Dataset(
        inputs(frame, features),
        label=labels,
        categorical_feature=categorical or "auto",
        params={"feature_pre_filter": False} if reusable else None,
    )


def train_lightgbm(
    train: pd.DataFrame,
    labels: pd.Series,
    features: Sequence[str] = FEATURE_COLUMNS,
    tuned: dict[str, Any] | None = None,
) -> TrainedModel:
    """LightGBM with the default parameters, or with `tuned` ones (a search's best, which may
    set `rounds`) laid over them."""
    params = {**LIGHTGBM_PARAMS, "rounds": LIGHTGBM_ROUNDS, **(tuned or {})}
    rounds = int(params.pop("rounds"))
    booster = lgb.train(params, lightgbm_dataset(train, labels, features), num_boost_round=rounds)
    return TrainedModel(LIGHTGBM, booster, {**params, "rounds": rounds})


def importance(train: pd.DataFrame, features: Sequence[str]) -> dict[str, float]:
    """Total gain per feature of a LightGBM model on the training rows (for top-K selection)."""
    booster = train_lightgbm(train, train[LABEL].astype(int), features).model
    gains = booster.feature_importance(importance_type="gain")
    return {n: round(float(g), 3) for n, g in zip(booster.feature_name(), gains, strict=True)}


def train_logreg(
    train: pd.DataFrame, labels: pd.Series, features: Sequence[str] = FEATURE_COLUMNS
) -> TrainedModel:
    pipeline = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [
                        (
                            "numeric",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="median")),
                                    ("scale", StandardScaler()),
                                ]
                            ),
                            [c for c in NUMERIC_FEATURES if c in features],
                        ),
                        (
                            "categorical",
                            OneHotEncoder(handle_unknown="ignore"),
                            [c for c in CATEGORICAL_FEATURES if c in features],
                        ),
                    ]
                ),
            ),
            ("model", LogisticRegression(C=1.0, max_iter=500)),
        ]
    )
    pipeline.fit(inputs(train), labels)
    return TrainedModel(SKLEARN_LOGREG, pipeline, {"C": 1.0, "max_iter": 500})


def train_hgb(
    train: pd.DataFrame, labels: pd.Series, features: Sequence[str] = FEATURE_COLUMNS
) -> TrainedModel:
    # HistGradientBoosting reads missing values natively and treats negative category codes
    # (ct's "missing or unknown") as missing, so it needs no imputer or encoder.
    categorical = [c for c in CATEGORICAL_FEATURES if c in features]
    model = HistGradientBoostingClassifier(categorical_features=categorical or None, **HGB_PARAMS)
    model.fit(inputs(train, features), labels)
    return TrainedModel(SKLEARN_HGB, model, dict(HGB_PARAMS))


TRAINERS: dict[str, Callable[[pd.DataFrame, pd.Series, Sequence[str]], TrainedModel]] = {
    LIGHTGBM: train_lightgbm,
    SKLEARN_LOGREG: train_logreg,
    SKLEARN_HGB: train_hgb,
}


def training_labels(train: pd.DataFrame, permute_labels_seed: int | None = None) -> pd.Series:
    """The labels to learn; a permutation seed shuffles them (a negative control)."""
    labels = train[LABEL].astype(int)
    if permute_labels_seed is not None:
        rng = np.random.default_rng(permute_labels_seed)
        labels = pd.Series(rng.permutation(labels.to_numpy()), index=labels.index)
    return labels


def fit_family(
    family: str, train: pd.DataFrame, labels: pd.Series, features: Sequence[str]
) -> TrainedModel:
    """Train one family from scratch on the training rows and the given labels."""
    if family not in TRAINERS:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(TRAINERS)}")
    return TRAINERS[family](train, labels, features)


def train_family(
    family: str,
    train: pd.DataFrame,
    permute_labels_seed: int | None = None,
    features: Sequence[str] = FEATURE_COLUMNS,
) -> TrainedModel:
    """Train one family from scratch on the training rows' own (or permuted) labels."""
    return fit_family(family, train, training_labels(train, permute_labels_seed), features)


def model_features(family: str, model: Any) -> list[str]:
    """The columns a trained model reads, in order: its serving contract (and signature)."""
    if family in BOOSTERS:
        return list(model.feature_name())
    if family in (SKLEARN_LOGREG, SKLEARN_HGB):
        return list(model.feature_names_in_)
    raise ValueError(f"unknown model family {family!r}")


def predict_proba(family: str, model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class, whichever family the model is."""
    columns = inputs(frame, model_features(family, model))
    if family in BOOSTERS:
        return np.asarray(model.predict(columns), dtype=float)
    return np.asarray(model.predict_proba(columns)[:, 1], dtype=float)
