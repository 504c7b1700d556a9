"""Helpers shared by several test files, unit and integration:
the ones tests/test_families.py held."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from ct_assets.ml import families
from ct_assets.ml.families import Family, Inputs, TrainedModel
from ct_assets.ml.families.flavours import ScikitLearn
from ct_assets.ml.vocabulary import BINARY

NEW = "test_decision_tree"


class DecisionTree(ScikitLearn):
    """A family as a contributor adds one: a class in its own module, registered."""

    name = NEW
    description = "a scikit-learn decision tree (a test family)"
    rank = 90
    # skops refuses to load a tree it is not told to trust: a family names what its models hold.
    trusted_types = ("numpy.dtype", "sklearn.tree._tree.Tree")

    def train(self, rows: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        kind = DecisionTreeClassifier if inputs.task == BINARY else DecisionTreeRegressor
        model = kind(min_samples_leaf=30, random_state=0)
        model.fit(rows[list(inputs.features)], labels)
        return TrainedModel(NEW, model, {"min_samples_leaf": 30})


@pytest.fixture
def new_family() -> Iterator[Family]:
    added = families.register(DecisionTree())
    yield added
    families.unregister(NEW)
