"""The model-family registry: every family is one module, found without being listed anywhere,
and a family added the way a contributor would (one class) is opt-in, named in ct.yaml, trained,
logged to and loaded from a real MLflow store, and served with the same scores as in training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ct_assets.ml import families
from ct_assets.ml.families import Family
from ct_assets.ml.frames import LABEL
from ct_assets.ml.training import model_features, predict, train_family
from ct_assets.ml.vocabulary import BINARY, REGRESSION
from ct_assets.serve.models import LoadedModel
from resources.mlflow_registry import FAMILY_TAG, MlflowRegistry
from tests.helpers.families import NEW
from tests.helpers.training import AWKWARD, frame, inputs_for


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
