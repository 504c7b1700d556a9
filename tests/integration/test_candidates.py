"""The candidates step on a real instance and MLflow store: a family that raises does not stop
the others, and a refresh of the champion reads the champion's own features whatever this
run's selection keeps (it once failed every run from the day the selection changed:
"The number of features in data (14) is not the same as it was in training data (18)")."""

from __future__ import annotations

from typing import Any

import pytest

from ct_assets.ml import families
from ct_assets.ml.families import TrainedModel
from ct_assets.reads.observe import latest_metadata
from tests.conftest import EAGER_GATES, Deployment


def metadata(project: Deployment, asset: str, partition: str) -> dict[str, Any]:
    found = latest_metadata(project.instance, asset, partition)
    assert found is not None, asset
    return found


def test_a_family_that_raises_is_recorded_and_the_others_are_trained_and_promoted(
    project: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(*args: Any) -> TrainedModel:
        raise MemoryError("cannot allocate 12.0 GiB for the histogram")

    monkeypatch.setattr(families.get("sklearn_hgb"), "train", out_of_memory)
    project.drop_day(0)
    result = project.materialize(project.partition(0))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    candidates = metadata(project, "candidate_models", project.partition(0))
    assert "sklearn_hgb" in str(candidates["families_failed"])
    assert "MemoryError: cannot allocate 12.0 GiB" in str(candidates["families_failed"])
    assert "MemoryError" in str(candidates["candidates"])
    assert not str(candidates["winner"]).startswith("sklearn_hgb")
    decided = metadata(project, "production_model", project.partition(0))
    assert decided["decision"] == "promote"
    assert project.resource("mlflow").champion_version() == candidates["model_versions"]


def test_every_family_failing_fails_the_step_and_the_champion_stays(
    project: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.reconfigure({"training": {"families": ["sklearn_linear", "sklearn_hgb"]}})
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    champion = project.resource("mlflow").champion_version()
    assert champion is not None

    def broken(*args: Any) -> TrainedModel:
        raise RuntimeError("the library is broken")

    for family in ("sklearn_linear", "sklearn_hgb"):
        monkeypatch.setattr(families.get(family), "train", broken)
    project.drop_day(1)
    result = project.materialize(project.partition(1))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "every candidate failed" in str(failure.event_specific_data)
    assert project.resource("mlflow").champion_version() == champion


def test_a_refresh_reads_the_champion_s_features_when_this_run_keeps_fewer(
    project: Deployment,
) -> None:
    # A LightGBM champion on every feature, then a selection of five: the refresh continues
    # the champion through the champion's own features.
    project.reconfigure(
        {**EAGER_GATES, "training": {"families": ["lightgbm", "lightgbm_incremental"]}}
    )
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry = project.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    read = registry.version_tags(champion)["ct.selected_features"].split(",")
    assert len(read) > 5
    project.reconfigure({"training": {"selection": {"top_k": 5}}})
    project.drop_day(1)
    result = project.materialize(project.partition(1))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    candidates = metadata(project, "candidate_models", project.partition(1))
    assert candidates["features_kept"] == 5
    assert candidates["families_failed"] == "none"
    table = str(candidates["candidates"])
    assert f"refresh of v{champion}" in table
    refreshed = [line for line in table.splitlines() if f"refresh of v{champion}" in line]
    assert "Error" not in refreshed[0]
