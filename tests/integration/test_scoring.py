"""Batch scoring, `ct predict` and `ct lineage prediction`, on a real champion."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from ct_assets.ingest.landing import batch_id_for
from ct_assets.io.predictions import (
    ANSWER,
    CHAMPION_ROUTE,
    SHADOW,
    Prediction,
    find_request,
    write_batch,
)
from ct_assets.ml.frames import ROW_ID
from ct_assets.ml.scoring import MODEL_VERSION, PREDICTION
from ct_assets.ml.training import predict
from ct_assets.names import BATCH_PREDICTIONS, FEATURES
from ct_assets.reads.lineage import prediction_lineage
from ct_assets.reads.observe import latest_metadata
from tests.conftest import Deployment, deploy
from tests.integration.test_models import ct


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, Path]]:
    """One day in, through the whole graph: a champion, and the day scored by it (shared by
    the tests here, which only read it or add their own prediction log)."""
    root = tmp_path_factory.mktemp("scored")
    (root / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "dagster")) as instance:
        project = deploy(root, instance)
        dropped = project.drop_day(0)
        assert project.materialize(project.partition(0)).success
        yield project, dropped


def test_batch_predictions_carry_the_version_per_row_and_equal_the_models_predict(
    scored: tuple[Deployment, Path],
) -> None:
    project, _ = scored
    day = project.partition(0)
    registry = project.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    out = project.defs.load_asset_value(
        BATCH_PREDICTIONS, partition_key=day, instance=project.instance
    )
    features = project.defs.load_asset_value(FEATURES, partition_key=day, instance=project.instance)
    assert len(out) == len(features) and set(out[MODEL_VERSION]) == {champion}
    family, model = registry.load(champion)
    np.testing.assert_allclose(out[PREDICTION].to_numpy(), predict(family, model, features))
    assert list(out[ROW_ID]) == list(features[ROW_ID])
    meta = latest_metadata(project.instance, BATCH_PREDICTIONS, day)
    assert meta is not None and meta["rows"] == len(out) and meta["model_version"] == champion


def test_ct_predict_scores_a_file_as_the_pipeline_does_and_refuses_a_bad_one(
    scored: tuple[Deployment, Path], tmp_path: Path
) -> None:
    project, dropped = scored
    day = project.partition(0)
    batch = project.defs.load_asset_value(
        BATCH_PREDICTIONS, partition_key=day, instance=project.instance
    )
    # Without its label: a file to score has none.
    rows = pd.read_csv(dropped).drop(columns=[project.spec.dataset.label])
    given = tmp_path / "to_score.csv"
    rows.to_csv(given, index=False)
    out = tmp_path / "scored.parquet"
    done = ct(project, "predict", str(given), "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = pd.read_parquet(out)
    assert len(written) == len(rows)
    expected = batch.set_index(ROW_ID)[PREDICTION]
    np.testing.assert_allclose(
        written.set_index(ROW_ID)[PREDICTION].loc[expected.index].to_numpy(), expected.to_numpy()
    )
    assert set(written[MODEL_VERSION]) == {project.resource("mlflow").champion_version()}

    # A number column holding text: refused, naming the file, the column and the row.
    numeric = next(
        n for n, c in project.spec.dataset.columns.items() if c.type == "float" and n in rows
    )
    broken = rows.astype({numeric: object})
    broken.loc[3, numeric] = "lots"
    bad = tmp_path / "bad.csv"
    broken.to_csv(bad, index=False)
    refused = ct(project, "predict", str(bad), "--out", str(tmp_path / "never.csv"))
    assert refused.returncode == 1
    # The fourth data row (index 3) on the line an editor shows it on (the header is line 1),
    # as `ct check` and the quarantine name it.
    assert "bad.csv" in refused.stderr and numeric in refused.stderr and "line 5" in refused.stderr
    assert "value 'lots'" in refused.stderr
    assert not (tmp_path / "never.csv").exists()


def test_lineage_of_a_logged_prediction_reaches_the_raw_batches_its_model_learnt_from(
    scored: tuple[Deployment, Path],
) -> None:
    project, dropped = scored
    registry = project.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    # Only a run's winner is registered: a second run gives the version that scores in shadow.
    other = project.another_version(project.partition(0), champion)
    now = datetime.now(UTC)

    def logged(version: str, role: str) -> Prediction:
        return Prediction(
            "req-42",
            0,
            now,
            project.partition(0),
            version,
            role,
            CHAMPION_ROUTE,
            "fs",
            "h",
            None,
            0.3,
        )

    write_batch(project.data_dir, [logged(champion, ANSWER), logged(other, SHADOW)])
    found = prediction_lineage(
        project.instance,
        registry,
        project.resource("batch_store"),
        "req-42",
        find_request(project.data_dir, "req-42"),
    )
    assert found["answered_by"] == [champion] and found["shadow_versions"] == [other]
    raw = found["models"][champion]["raw_batches"]
    assert {b["batch_id"] for b in raw} == {
        batch_id_for(hashlib.sha256(dropped.read_bytes()).hexdigest())
    }

    instance = {"DAGSTER_HOME": str(project.instance.root_directory)}
    printed = ct(project, "lineage", "prediction", "req-42", "--json", **instance)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["answered_by"] == [champion]
    unknown = ct(project, "lineage", "prediction", "req-nobody", **instance)
    assert unknown.returncode == 1 and "req-nobody" in unknown.stdout
