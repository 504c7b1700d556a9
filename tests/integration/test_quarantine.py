"""Quarantine end to end: refused batches are listed, shown, and re-admitted once fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from ct_assets.cli import main
from ct_assets.cli.context import resources_of
from ct_assets.cli.quarantine import readmit
from ct_assets.definitions import build_definitions
from ct_assets.ml.frames import ROW_ID
from ct_assets.names import (
    PRODUCTION_MODEL,
    RAW_BATCHES,
    SCHEMA_CHECK,
    VALIDATED_BATCHES,
    quality_check_name,
)
from ct_assets.project.load import load_project
from ct_assets.reads.observe import latest_check, latest_check_passed, latest_metadata
from resources.storage import BatchStore
from tests.conftest import REPOSITORY, START, Deployment, deploy, write_project

CT = str(Path(sys.executable).with_name("ct"))
# Raw and validated only: these tests watch nothing later.
INGEST = f'key:"{RAW_BATCHES}" or key:"{VALIDATED_BATCHES}"'


def batch_store(project: Deployment) -> BatchStore:
    """The batch store as a command sees it: its EnvVars resolved, as in production."""
    with resources_of(project.project, project.defs, "batch_store") as resources:
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


def test_one_reading_out_of_range_in_two_thousand_is_set_aside_counted_and_readmitted(
    tmp_path: Path,
    dagster_instance: dg.DagsterInstance,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    energy = deploy(tmp_path, dagster_instance, "energy", rows_per_day=2000)
    day = energy.source.day(0)
    day.loc[1234, "humidity_pct"] = 140.0  # 0.05% of the batch
    energy.drop_day(0, day)
    partition = energy.partition(0)
    assert energy.materialize(partition, INGEST).success
    validated = latest_metadata(energy.instance, VALIDATED_BATCHES, partition)
    assert validated is not None
    counts = {k: validated[k] for k in ("rows_delivered", "rows_validated", "rows_set_aside")}
    assert counts == {"rows_delivered": 2000, "rows_validated": 1999, "rows_set_aside": 1}
    assert validated["rows_refused"] == 0 and validated["dagster/row_count"] == 1999
    assert latest_check_passed(energy.instance, VALIDATED_BATCHES, SCHEMA_CHECK, partition)
    validity = latest_check(
        energy.instance, VALIDATED_BATCHES, quality_check_name("validity"), partition
    )
    assert validity is not None and validity["passed"]
    assert "1 set aside" in validity["description"]
    # Derived row ids still number the rows as delivered: the set-aside one has none.
    events = pd.read_parquet(energy.data_dir / VALIDATED_BATCHES / f"{partition}.parquet")
    numbers = {int(i.rsplit(":", 1)[1]) for i in events[ROW_ID]}
    assert 1234 not in numbers and numbers == set(range(2000)) - {1234}

    store = batch_store(energy)
    (record,) = store.all_quarantined()
    assert (record["kind"], record["rules"], record["rows_set_aside"]) == (
        "set_aside",
        ["out_of_range"],
        1,
    )
    (failure,) = record["failures"]
    assert (failure["column"], failure["lines"], failure["unit"]) == (
        "humidity_pct",
        [1236],
        "line",
    )
    rows = pd.read_csv(store.quarantine_root / record["batch_id"] / "set_aside.csv", dtype=str)
    assert rows[["ct_line", "ct_rules", "ct_columns", "humidity_pct"]].values.tolist() == [
        ["1236", "out_of_range", "humidity_pct", "140.0"]
    ]
    # A run of the same partition again judges the batch the same: the record is left as it was.
    assert energy.materialize(partition, INGEST).success
    assert store.all_quarantined() == [record]

    ct = ["--project", str(energy.root)]
    capsys.readouterr()
    assert main(["quarantine", *ct, "list"]) == 0
    listed = capsys.readouterr().out
    assert record["batch_id"] in listed and "set aside" in listed and "1 of 2000" in listed
    assert main(["status", "--json", *ct]) == 0
    (row,) = json.loads(capsys.readouterr().out)["partitions"]
    assert (row["rows_delivered"], row["rows"], row["rows_set_aside"], row["rows_refused"]) == (
        2000,
        1999,
        1,
        0,
    )
    assert [(q["kind"], q["rules"]) for q in row["quarantined"]] == [
        ("set_aside", ["out_of_range"])
    ]

    # Unchanged rules: the row is still set aside and nothing is re-run.
    assert main(["quarantine", *ct, "readmit", record["batch_id"]]) == 1
    assert "still set aside" in capsys.readouterr().out
    # The meters are right after all: the row is re-admitted with the rest of its batch.
    energy.reconfigure({"dataset": {"columns": {"humidity_pct": {"checks": {"le": 150}}}}})
    assert main(["quarantine", *ct, "readmit", record["batch_id"]]) == 0
    assert batch_store(energy).all_quarantined() == []
    validated = latest_metadata(energy.instance, VALIDATED_BATCHES, partition)
    assert validated is not None and validated["dagster/row_count"] == 2000
    assert validated["rows_set_aside"] == 0
    assert validated["readmitted_batch_ids"] == record["batch_id"]
    released = store.quarantine_root / "_readmitted"
    assert len(list(released.glob(f"{record['batch_id']}-*/set_aside.json"))) == 1


def sales(day: int, rows: int, seed: int) -> pd.DataFrame:
    """A regression feed: a day of sales whose margin is now and then a small loss."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=day)
    times = start + pd.to_timedelta(np.sort(rng.integers(0, 86_400, rows)), unit="s")
    return pd.DataFrame(
        {
            "event_time": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": rng.gamma(2.0, 20.0, rows).round(2),
            "temperature": rng.normal(18.0, 2.0, rows).round(2),
            "margin": rng.gamma(4.0, 1.5, rows).round(2),
        }
    )


def test_rare_negative_labels_cost_no_day_of_a_project_ct_init_wrote(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    # ct init sees no negative margin (nor temperature) in day 0 ...
    sample = sales(0, 2000, seed=0)
    assert (sample["margin"] > 0).all() and (sample["temperature"] > 0).all()
    sample.to_csv(tmp_path / "sample.csv", index=False)
    root = tmp_path / "shop-margins"
    init = ["init", "--from", str(tmp_path / "sample.csv"), "--label", "margin"]
    assert main([*init, "--out", str(root)]) == 0
    project = load_project(root, environ={})
    assert project.spec.task.type == "regression"
    assert project.spec.column("margin").checks.ge is None
    assert project.spec.column("temperature").checks.ge is None
    deployment = Deployment(project, build_definitions(project), dagster_instance, None)
    # ... and the next days each bring one small loss in 2,000 rows (and a frosty morning).
    store = batch_store(deployment)
    for day in range(1, 6):
        frame = sales(day, 2000, seed=day)
        frame.loc[day * 100, "margin"] = -0.26
        frame.loc[day * 100 + 1, "temperature"] = -1.5
        frame.to_csv(deployment.landing / f"sales_{deployment.partition(day)}.csv", index=False)
        assert deployment.materialize(deployment.partition(day), INGEST).success
        validated = latest_metadata(dagster_instance, VALIDATED_BATCHES, deployment.partition(day))
        assert validated is not None
        assert (validated["rows_validated"], validated["rows_set_aside"]) == (2000, 0)
        assert validated["rows_refused"] == 0
    assert store.all_quarantined() == []
