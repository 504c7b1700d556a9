"""The registry as operators use it: `ct models` and `ct rollback`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ct_assets.ingest.landing import batch_id_for
from ct_assets.names import STAGES
from ct_assets.reads.lineage import model_lineage
from ct_assets.reads.observe import latest_check, latest_metadata
from tests.conftest import EAGER_GATES
from tests.conftest import Deployment as Project


def ct(project: Project, command: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A `ct` command in its own process, for the test's project."""
    line = [str(Path(sys.executable).with_name("ct")), command, "--project", str(project.root)]
    environ = {**os.environ, "COLUMNS": "200", **env}
    return subprocess.run([*line, *args], env=environ, capture_output=True, text=True)


def test_rollback_restores_the_previous_champion_and_the_history_shows_both_moves(
    project: Project,
) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry = project.resource("mlflow")
    first = registry.champion_version()
    assert first is not None
    # Only the winner of a run is registered: another run registers another version.
    other = project.another_version(project.partition(0), first)
    registry.promote(other, first, "a later promotion")

    listed = ct(project, "models")
    assert listed.returncode == 0, listed.stderr
    assert f"champion v{other}" in listed.stdout and "a later promotion" in listed.stdout

    back = ct(project, "rollback", "--reason", "live AUC fell below 0.6")
    assert back.returncode == 0, back.stdout + back.stderr
    assert registry.champion_version() == first
    moves = registry.history()
    assert [m["kind"] for m in moves] == ["promote", "promote", "rollback"]
    assert (moves[-1]["from"], moves[-1]["to"]) == (other, first)
    assert moves[-1]["reason"] == "live AUC fell below 0.6"
    tags = registry.version_tags(first)
    assert tags["ct.previous_champion"] == other

    again = ct(project, "rollback", "--to", first)
    assert again.returncode == 1 and f"v{first} is already the champion" in again.stdout
    missing = ct(project, "rollback", "--to", "999")
    assert missing.returncode == 1 and "has no version 999" in missing.stdout
    assert registry.champion_version() == first


def test_lineage_of_a_promoted_model_names_exactly_the_batches_it_was_trained_on(
    project: Project, tmp_path: Path
) -> None:
    dropped_by_day = {}
    for day in range(3):
        path = project.drop_day(day)
        dropped_by_day[project.partition(day)] = (
            batch_id_for(hashlib.sha256(path.read_bytes()).hexdigest()),
            path,
        )
        assert project.materialize(project.partition(day)).success
    registry = project.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    trained_on = registry.version_tags(champion)["ct.training_partitions"].split(",")
    # Exactly the files dropped for the days in the champion's window, whichever won.
    dropped = dict(dropped_by_day[p] for p in trained_on)
    found = model_lineage(project.instance, registry, project.resource("batch_store"), champion)
    assert {b["batch_id"] for b in found["raw_batches"]} == set(dropped)
    for batch in found["raw_batches"]:
        path = dropped[batch["batch_id"]]
        assert batch["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert batch["source_path"] == str(path) and batch["source"] == "file_drop"
    assert list(found["partitions"]) == trained_on
    for steps in found["partitions"].values():
        assert steps["raw_batches"]["code_version"] and steps["features"]["feature_set_id"]
        assert steps["schema_check_passed"] is True
    assert (
        found["model"]["feature_set_id"]
        == found["partitions"][trained_on[-1]]["features"]["feature_set_id"]
    )
    assert found["decision"]["promotion_gate_passed"] in (True, False)
    assert any(m["to"] == champion for m in found["champion_moves"])

    instance = {"DAGSTER_HOME": str(tmp_path / "dagster")}
    printed = ct(project, "lineage", "model", champion, "--json", **instance)
    assert printed.returncode == 0, printed.stderr
    assert {b["batch_id"] for b in json.loads(printed.stdout)["raw_batches"]} == set(dropped)
    tree = ct(project, "lineage", "model", champion, COLUMNS="250", **instance)
    assert tree.returncode == 0 and f"v{champion}" in tree.stdout
    assert all(batch_id in tree.stdout for batch_id in dropped)


def test_a_challenger_that_cannot_be_loaded_in_a_fresh_process_is_refused(
    project: Project,
) -> None:
    # A margin of -1 would promote any challenger: only the infrastructure gate stands.
    project.reconfigure(EAGER_GATES)
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry = project.resource("mlflow")
    first = registry.champion_version()
    decided = latest_metadata(project.instance, "production_model", project.partition(0))
    assert decided is not None and decided["infrastructure_loaded"] is True
    assert decided["infrastructure_latency_ms_p95"] < project.spec.gates.serving.latency_ms_p95

    project.drop_day(1)
    # Every candidate of the day loses its pyfunc flavour: MLflow still loads it natively (the
    # evaluation scores it), but serving, which loads through pyfunc, cannot.
    to_candidates = " or ".join(
        f'key:"{k}"' for k in STAGES[: STAGES.index("candidate_models") + 1]
    )
    assert project.materialize(project.partition(1), to_candidates).success
    candidates = json.loads(
        (project.data_dir / "candidate_models" / f"{project.partition(1)}.json").read_text()
    )
    client = registry.client()
    for candidate in candidates:
        location = client.get_model_version_download_uri(
            registry.registered_model, candidate["version"]
        )
        mlmodel = Path(location.removeprefix("file://")) / "MLmodel"
        described = yaml.safe_load(mlmodel.read_text())
        del described["flavors"]["python_function"]
        mlmodel.write_text(yaml.safe_dump(described))

    assert project.materialize(project.partition(1), 'key:"model_evaluations"').success
    assert project.materialize(project.partition(1), 'key:"production_model"').success
    refused = latest_metadata(project.instance, "production_model", project.partition(1))
    assert refused is not None and refused["decision"] == "keep champion"
    assert "cannot be loaded in a fresh process" in refused["reason"]
    assert refused["infrastructure_loaded"] is False
    assert registry.champion_version() == first


def test_the_evaluation_and_every_gate_are_shown_in_dagster_and_logged_to_mlflow(
    project: Project,
) -> None:
    for day in range(2):
        project.drop_day(day)
        assert project.materialize(project.partition(day)).success
    partition = project.partition(1)
    registry = project.resource("mlflow")
    evaluations = json.loads(
        (project.data_dir / "model_evaluations" / f"{partition}.json").read_text()
    )
    champion = evaluations["champion"]
    assert champion is not None
    shown = latest_metadata(project.instance, "model_evaluations", partition)
    assert shown is not None
    assert f"champion v{champion['version']}" in shown["comparison"]
    assert "calibration_error" in shown["comparison"]
    assert "channel=web" in shown["slices"] and "country=BR" in shown["slices"]
    assert shown["curves"].count("data:image/png;base64,") == 3

    client = registry.client()
    run_id = shown["mlflow_evaluation_run"]
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"roc.png", "precision_recall.png", "calibration.png", "comparison.json"} <= artifacts
    assert "slices.json" in artifacts
    # Every candidate's own run carries its holdout figures beside its training ones.
    candidates = json.loads(
        (project.data_dir / "candidate_models" / f"{partition}.json").read_text()
    )
    for ref, record in zip(candidates, evaluations["candidates"], strict=True):
        metrics = client.get_run(ref["run_id"]).data.metrics
        assert metrics["holdout_roc_auc"] == pytest.approx(record["metrics"]["roc_auc"])
        assert "train_roc_auc" in metrics

    margin = latest_check(project.instance, "production_model", "margin_gate", partition)
    assert margin is not None and margin["metadata"]["ran"] is True
    best = max(evaluations["candidates"], key=lambda c: c["metrics"]["roc_auc"])
    assert margin["metadata"]["gain_ci_lower"] == best["gain"]["lower"]
    for check in ("floor_gate", "slices_gate", "infrastructure_gate", "promotion_gate"):
        assert latest_check(project.instance, "production_model", check, partition), check
