"""Training and scoring through the model families' registry (`ml.families`): what the stages
call, whatever the family.

Binary: the probability of the positive class; regression: the predicted value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ct_assets.crash import crash_point
from ct_assets.ml import families
from ct_assets.ml.families import Inputs, TrainedModel
from ct_assets.ml.families.lightgbm import (
    train_lightgbm,
)
from ct_assets.ml.frames import LABEL

__all__ = [
    "fit_family",
    "importance",
    "model_features",
    "own_importance",
    "predict",
    "train_family",
    "training_labels",
]


def importance(train: pd.DataFrame, inputs: Inputs) -> dict[str, float]:
    """Total gain per feature of a LightGBM model on the training rows (for top-K selection)."""
    booster = train_lightgbm(train, train[LABEL], inputs)
    gains = families.get(booster.family).importance(booster.model) or {}
    return {n: round(g, 3) for n, g in gains.items()}


def own_importance(family: str, model: Any) -> dict[str, float] | None:
    """What a model learnt to lean on, by its own measure (a booster's total gain per feature);
    None for a family without one."""
    return families.get(family).importance(model)


def training_labels(train: pd.DataFrame, permute_labels_seed: int | None = None) -> pd.Series:
    """The labels to learn; a permutation seed shuffles them (a negative control)."""
    labels = train[LABEL]
    if permute_labels_seed is not None:
        rng = np.random.default_rng(permute_labels_seed)
        labels = pd.Series(rng.permutation(labels.to_numpy()), index=labels.index)
    return labels


def fit_family(family: str, train: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
    """Train one family from scratch on the training rows and the given labels."""
    chosen = families.get(family)
    crash_point("training.fit")
    return chosen.train(train, labels, inputs)


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
    return families.get(family).features(model)


def predict(family: str, model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Binary: probability of the positive class; regression: the value, whichever family."""
    return families.get(family).predict(model, frame)
