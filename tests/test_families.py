"""The model-family registry: every family is one module, found without being listed anywhere,
and a family added the way a contributor would (one class) is opt-in, named in ct.yaml, trained,
logged to and loaded from a real MLflow store, and served with the same scores as in training.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ct_assets.ml import families
from ct_assets.ml.families import Family, Inputs, TrainedModel
from ct_assets.ml.families.flavours import ScikitLearn
from ct_assets.ml.frames import LABEL
from ct_assets.ml.training import model_features, predict, train_family
from ct_assets.ml.vocabulary import BINARY, REGRESSION
from ct_assets.project.spec import Training
from ct_assets.serve.models import LoadedModel
from resources.mlflow_registry import FAMILY_TAG, MlflowRegistry
from tests.test_training import AWKWARD, frame, inputs_for

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


def test_every_module_of_the_package_registers_the_family_it_is_named_after() -> None:
    package = Path(families.__file__).parent
    modules = sorted(
        m.name
        for m in pkgutil.iter_modules([str(package)])
        if m.name not in families._SUPPORT and not m.name.startswith("_")
    )
    assert sorted(families.names()) == modules
    for name in modules:
        assert type(families.get(name)).__module__ == f"ct_assets.ml.families.{name}"


def test_the_defaults_are_the_families_registered_by_default_in_rank_order() -> None:
    # Stored ct.yaml files that list no families keep training what they trained.
    assert Training().families == list(families.defaults())
    assert families.defaults() == (
        "lightgbm",
        "sklearn_linear",
        "sklearn_hgb",
        "lightgbm_incremental",
    )


def test_a_new_family_is_opt_in_and_can_be_named_in_ct_yaml(new_family: Family) -> None:
    assert NEW in families.names()
    assert NEW not in Training().families
    assert Training(families=["lightgbm", NEW]).families == ["lightgbm", NEW]
    with pytest.raises(ValidationError, match=f"expected some of .*{NEW}"):
        Training(families=["test_decision_tre"])
    with pytest.raises(ValueError, match=f"unknown model family 'xgboost'; known: .*{NEW}"):
        families.get("xgboost")


def test_a_family_registered_twice_under_one_name_is_refused(new_family: Family) -> None:
    class Impostor(DecisionTree):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        families.register(Impostor())


@pytest.mark.parametrize("task", [BINARY, REGRESSION])
def test_every_family_scores_a_serving_matrix_as_it_scores_a_frame(task: str) -> None:
    # Serving feeds a 2-D array of the model's columns; training and evaluation feed frames.
    data = frame(task, rows=600)
    for name in families.names():
        family = families.get(name)
        trained = train_family(name, data, inputs_for(task))
        read = model_features(name, trained.model)
        matrix = data[read].to_numpy(dtype=float)
        served = family.predict_matrix(trained.model, matrix, read, (AWKWARD[-1],))
        np.testing.assert_allclose(served, predict(name, trained.model, data), rtol=1e-9)


def test_a_new_family_trains_logs_loads_and_serves_through_the_registry(
    new_family: Family, tmp_path: Path
) -> None:
    data = frame(BINARY)
    trained = train_family(NEW, data, inputs_for(BINARY))
    scores = predict(NEW, trained.model, data)
    assert np.corrcoef(scores, data[LABEL])[0, 1] > 0.3
    registry = MlflowRegistry(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_root=str(tmp_path / "artifacts"),
        registered_model="families",
    )
    tags: dict[str, Any] = {"ct.partition": "2026-01-02", "ct.train_rows": str(len(data))}
    ref = registry.log_candidate(trained, data.head(20), {"train_roc_auc": 0.9}, tags)
    assert registry.version_tags(ref["version"])[FAMILY_TAG] == NEW
    family, model = registry.load(ref["version"])
    assert family == NEW
    np.testing.assert_allclose(predict(family, model, data), scores)
    features = tuple(model_features(family, model))
    loaded = LoadedModel(
        ref["version"], family, "fs1", features, tuple(range(len(features))), (), model
    )
    assert loaded.platform == "sklearn"
    np.testing.assert_allclose(loaded.predict(data[list(features)].to_numpy(dtype=float)), scores)
    requirements = (tmp_path / "artifacts").rglob("requirements.txt")
    pinned = next(requirements).read_text()
    assert "scikit-learn==" in pinned and "lightgbm" not in pinned
