"""Split strategies and the leakage each one risks."""

from __future__ import annotations

from ct_assets.reads.observe import latest_metadata
from tests.conftest import Deployment


def test_a_leaky_split_still_trains_and_says_so_in_dagster_and_mlflow(
    project: Deployment,
) -> None:
    project.reconfigure({"training": {"split": "random"}})
    assert project.spec.training.split == "random"
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    window = latest_metadata(project.instance, "training_window", project.partition(0))
    assert window is not None and window["split_strategy"] == "random"
    assert "time leakage" in window["split_warnings"]
    registry = project.resource("mlflow")
    tags = registry.version_tags(registry.versions()[0]["version"])
    assert tags["ct.split_strategy"] == "random"
    assert "time leakage" in tags["ct.split_warnings"]
