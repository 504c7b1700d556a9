"""Candidate model families: how each is trained and how each scores a frame."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ct_assets.ml.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, NUMERIC_FEATURES
from ct_assets.ml.schema import LABEL

LIGHTGBM, SKLEARN_LOGREG = "lightgbm", "sklearn_logreg"
FAMILIES = (LIGHTGBM, SKLEARN_LOGREG)

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


@dataclass
class TrainedModel:
    family: str
    model: Any
    params: dict[str, Any] = field(default_factory=dict)


def inputs(frame: pd.DataFrame, features: Sequence[str] = FEATURE_COLUMNS) -> pd.DataFrame:
    return frame[list(features)]


def train_lightgbm(
    train: pd.DataFrame, labels: pd.Series, features: Sequence[str] = FEATURE_COLUMNS
) -> TrainedModel:
    # Category codes are learned from the training rows: a code first seen later (in the
    # holdout or at serving time) falls on the side LightGBM keeps for unseen categories.
    categorical = [c for c in CATEGORICAL_FEATURES if c in features]
    data = lgb.Dataset(
        inputs(train, features), label=labels, categorical_feature=categorical or "auto"
    )
    booster = lgb.train(LIGHTGBM_PARAMS, data, num_boost_round=LIGHTGBM_ROUNDS)
    return TrainedModel(LIGHTGBM, booster, {**LIGHTGBM_PARAMS, "rounds": LIGHTGBM_ROUNDS})


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


TRAINERS: dict[str, Callable[[pd.DataFrame, pd.Series, Sequence[str]], TrainedModel]] = {
    LIGHTGBM: train_lightgbm,
    SKLEARN_LOGREG: train_logreg,
}


def train_family(
    family: str,
    train: pd.DataFrame,
    permute_labels_seed: int | None = None,
    features: Sequence[str] = FEATURE_COLUMNS,
) -> TrainedModel:
    """Train one family; a permutation seed trains on shuffled labels (a negative control)."""
    labels = train[LABEL].astype(int)
    if permute_labels_seed is not None:
        rng = np.random.default_rng(permute_labels_seed)
        labels = pd.Series(rng.permutation(labels.to_numpy()), index=labels.index)
    return TRAINERS[family](train, labels, features)


def predict_proba(family: str, model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class, whichever family the model is."""
    if family == LIGHTGBM:
        # The booster reads the features it was trained on, by name.
        return np.asarray(model.predict(inputs(frame, model.feature_name())), dtype=float)
    if family == SKLEARN_LOGREG:
        return np.asarray(model.predict_proba(inputs(frame))[:, 1], dtype=float)
    raise ValueError(f"unknown model family {family!r}")
