"""Quarantine end to end: refused batches are listed, shown, and re-admitted once fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ct_assets.cli import main
from ct_assets.cli.context import resources_of
from ct_assets.cli.quarantine import readmit
from ct_assets.names import PRODUCTION_MODEL, RAW_BATCHES, VALIDATED_BATCHES
from ct_assets.observe import latest_metadata
from resources.storage import BatchStore
from tests.conftest import REPOSITORY, Deployment, write_project

CT = str(Path(sys.executable).with_name("ct"))


def batch_store(project: Deployment) -> BatchStore:
    """The batch store as a command sees it: its EnvVars resolved, as in production."""
    with resources_of(project.defs, "batch_store") as resources:
        store = resources.batch_store
    assert isinstance(store, BatchStore)
    return store


def command_env(**extra: str) -> dict[str, str]:
    """The environment of a `ct` subprocess: the project is named by --project alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CT_")}
    return {**env, "COLUMNS": "200", **extra}


def guests_heavy(project: Deployment, share: float) -> Path:
    """A day-0 batch from a feed where most checkouts were guests (no account age)."""
    frame = project.source.day(0).head(300).assign(event_id=lambda f: "g-" + f["event_id"])
    frame["account_age_days"] = frame["account_age_days"].astype(object)
    frame.loc[frame.index[: int(len(frame) * share)], "account_age_days"] = None
    return project.drop_day(0, frame, name=f"guests_{project.partition(0)}.csv")


def test_list_show_and_readmit_after_the_rule_is_fixed(project: Deployment) -> None:
    project.drop_day(0)
    guests_heavy(project, share=0.6)
    # The refused batch is held back; the good file of the same day goes on.
    assert project.materialize(project.partition(0)).success
    store = batch_store(project)
    (record,) = store.all_quarantined()
    assert record["rules"] == ["mostly_null"]
    assert record["failures"][0]["column"] == "account_age_days"

    env = command_env()
    ct = [CT, "quarantine", "--project", str(project.root)]
    listed = subprocess.run([*ct, "list"], env=env, capture_output=True, text=True, check=True)
    assert record["batch_id"] in listed.stdout and "mostly_null" in listed.stdout
    shown = subprocess.run(
        [*ct, "show", record["batch_id"]], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(shown.stdout)["file"] == record["file"]
    missing = subprocess.run([*ct, "show", "b-nope"], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "no quarantined batch 'b-nope'" in missing.stderr

    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    # Unchanged rules: the batch is still refused and nothing is re-run.
    runs_before = len(project.instance.get_runs())
    assert readmit(console, project.project, project.defs, record) == 1
    assert len(project.instance.get_runs()) == runs_before
    before = latest_metadata(project.instance, VALIDATED_BATCHES, project.partition(0))
    assert before is not None and before["dagster/row_count"] == 1500

    # The operator accepts guest-heavy days and raises the mostly-null bar in the schema.
    project.reconfigure(
        {"dataset": {"columns": {"account_age_days": {"checks": {"max_null_share": 0.7}}}}}
    )
    assert readmit(console, project.project, project.defs, record) == 0
    assert store.all_quarantined() == []
    validated = latest_metadata(project.instance, VALIDATED_BATCHES, project.partition(0))
    assert validated is not None
    assert validated["readmitted_batch_ids"] == record["batch_id"]
    assert validated["dagster/row_count"] == 1500 + 300
    assert latest_metadata(project.instance, PRODUCTION_MODEL, project.partition(0)) is not None
    readmitted = store.quarantine_root / "_readmitted"
    assert len(list(readmitted.glob(f"{record['batch_id']}-*/reason.json"))) == 1


def test_an_energy_batch_out_of_range_is_listed_and_readmitted_by_the_command(
    energy: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    energy.drop_day(0)
    bad = energy.module.corrupt(energy.source.day(0).head(300), "out_of_range")
    energy.drop_day(0, bad, name=f"humid_{energy.partition(0)}.csv")
    ingest = f'key:"{RAW_BATCHES}" or key:"{VALIDATED_BATCHES}"'
    assert energy.materialize(energy.partition(0), ingest).success
    (record,) = batch_store(energy).all_quarantined()
    assert record["rules"] == ["out_of_range"]
    assert record["failures"][0]["column"] == "humidity_pct"

    ct = ["quarantine", "--project", str(energy.root)]
    capsys.readouterr()
    assert main([*ct, "list"]) == 0
    listed = capsys.readouterr().out
    assert record["batch_id"] in listed and "out_of_range" in listed
    assert main([*ct, "show", record["batch_id"]]) == 0
    assert json.loads(capsys.readouterr().out)["file"] == record["file"]
    # Unchanged rules: still refused.
    assert main([*ct, "readmit", record["batch_id"]]) == 1
    assert "still refused" in capsys.readouterr().out

    # The meters are right after all: humidity is declared up to 150 and the batch re-admitted.
    energy.reconfigure({"dataset": {"columns": {"humidity_pct": {"checks": {"le": 150}}}}})
    assert main([*ct, "readmit", record["batch_id"]]) == 0
    assert batch_store(energy).all_quarantined() == []
    validated = latest_metadata(energy.instance, VALIDATED_BATCHES, energy.partition(0))
    assert validated is not None
    assert validated["readmitted_batch_ids"] == record["batch_id"]
    assert validated["dagster/row_count"] == 1500 + 300


def test_cli_help_runs_from_the_project() -> None:
    out = subprocess.run(
        [CT, "quarantine", "--help"], cwd=REPOSITORY, capture_output=True, text=True
    )
    assert out.returncode == 0 and "readmit" in out.stdout


def test_list_reads_the_quarantine_the_production_environment_names(tmp_path: Path) -> None:
    # In production the data directory is an EnvVar; an unresolved one would be read as the
    # literal path "CT_DATA_URL" and the list would come back empty.
    project = write_project(tmp_path / "prod-project", "shop")
    data = tmp_path / "prod-data"
    raw = tmp_path / "orders.csv"
    raw.write_text("event_id\n1\n")
    BatchStore(base_dir=str(data)).quarantine(
        {
            "batch_id": "b-prod",
            "sha256": "0" * 64,
            "partitions": ["2026-01-01"],
            "raw_path": str(raw),
            "file_name": raw.name,
        },
        {"file": raw.name, "rules": ["schema"]},
    )
    # The local data folder of the project exists but holds nothing: it must not be read.
    project.data_dir.mkdir(parents=True)
    env = command_env(CT_ENV="production", CT_DATA_URL=str(data))
    ct = [CT, "quarantine", "--project", str(project.root)]
    listed = subprocess.run([*ct, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "1 quarantined batch" in listed.stdout and "b-prod" in listed.stdout
    shown = subprocess.run([*ct, "show", "b-prod"], env=env, capture_output=True, text=True)
    assert json.loads(shown.stdout)["rules"] == ["schema"]
