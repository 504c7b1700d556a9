"""Quarantine end to end: refused batches are listed, shown, and re-admitted once fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ct_assets import quarantine
from ct_assets.ml import schema
from ct_assets.observe import latest_metadata
from ct_assets.settings import PROJECT_ROOT
from resources.storage import BatchStore
from tests.conftest import Project


def guests_heavy(project: Project, share: float) -> Path:
    """A day-0 batch from a feed where most checkouts were guests (no account age)."""
    frame = project.source.day(0).head(300).assign(event_id=lambda f: "g-" + f["event_id"])
    frame["account_age_days"] = frame["account_age_days"].astype(object)
    frame.loc[frame.index[: int(len(frame) * share)], "account_age_days"] = None
    return project.drop_day(0, frame, name=f"guests_{project.partition(0)}.csv")


def test_list_show_and_readmit_after_the_rule_is_fixed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.drop_day(0)
    guests_heavy(project, share=0.6)
    # The refused batch is held back; the good file of the same day goes on.
    assert project.materialize(project.partition(0)).success
    store = quarantine.batch_store(project.defs)
    (record,) = store.all_quarantined()
    assert record["rules"] == ["mostly_null"]
    assert record["failures"][0]["column"] == "account_age_days"

    env = {**os.environ, "CT_HOME": str(project.settings.home), "COLUMNS": "200"}
    ct = [str(Path(sys.executable).with_name("ct")), "quarantine"]
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
    assert (
        quarantine.readmit_batch(console, project.defs, project.instance, record["batch_id"]) == 1
    )
    assert len(project.instance.get_runs()) == runs_before
    before = latest_metadata(project.instance, "validated_batches", project.partition(0))
    assert before is not None and before["dagster/row_count"] == 1500

    # The operator accepts guest-heavy days and raises the mostly-null bar in the schema.
    monkeypatch.setattr(schema, "MOSTLY_NULL", 0.7)
    assert (
        quarantine.readmit_batch(console, project.defs, project.instance, record["batch_id"]) == 0
    )
    assert store.all_quarantined() == []
    validated = latest_metadata(project.instance, "validated_batches", project.partition(0))
    assert validated is not None
    assert validated["readmitted_batch_ids"] == record["batch_id"]
    assert validated["dagster/row_count"] == 1500 + 300
    assert latest_metadata(project.instance, "production_model", project.partition(0)) is not None
    readmitted = store.quarantine_root / "_readmitted"
    assert len(list(readmitted.glob(f"{record['batch_id']}-*/reason.json"))) == 1


def test_cli_help_runs_from_the_project() -> None:
    ct = str(Path(sys.executable).with_name("ct"))
    out = subprocess.run(
        [ct, "quarantine", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and "readmit" in out.stdout


def test_list_reads_the_quarantine_the_production_environment_names(tmp_path: Path) -> None:
    # In production the data directory is an EnvVar; an unresolved one would be read as the
    # literal path "CT_DATA_DIR" and the list would come back empty.
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
    env = {
        **os.environ,
        "CT_ENV": "production",
        "CT_DATA_DIR": str(data),
        "CT_HOME": str(tmp_path / "unused-local-home"),
        "COLUMNS": "200",
    }
    ct = [str(Path(sys.executable).with_name("ct")), "quarantine"]
    listed = subprocess.run([*ct, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "1 quarantined batch" in listed.stdout and "b-prod" in listed.stdout
    shown = subprocess.run([*ct, "show", "b-prod"], env=env, capture_output=True, text=True)
    assert json.loads(shown.stdout)["rules"] == ["schema"]
