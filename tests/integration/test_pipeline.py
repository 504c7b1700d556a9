"""The asset graph end to end on a real Dagster instance, real Parquet files, real MLflow store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ct_assets.names import STAGES
from ct_assets.reads.observe import latest_check_passed, latest_metadata
from examples.shop.generator import MALFORMED_RULES, corrupt, malformed_csv
from tests.conftest import Deployment as Project


def metadata(project: Project, asset: str, partition: str) -> dict[str, Any] | None:
    return latest_metadata(project.instance, asset, partition)


def check_result(project: Project, asset: str, check: str, partition: str) -> bool | None:
    return latest_check_passed(project.instance, asset, check, partition)


def run_days(project: Project, days: range, selection: str = "*") -> list[str]:
    partitions = []
    for index in days:
        project.drop_day(index)
        partition = project.partition(index)
        result = project.materialize(partition, selection)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        partitions.append(partition)
    return partitions


def test_three_days_end_with_the_best_of_every_family_on_every_window(project: Project) -> None:
    partitions = run_days(
        project, range(2), 'key:"raw_batches" or key:"validated_batches" or key:"features"'
    )
    partitions += run_days(project, range(2, 3))
    registry = project.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    tags = registry.version_tags(champion)
    candidates = metadata(project, "candidate_models", partitions[-1])
    assert candidates is not None
    # Every family competed on the whole window (and on shorter ones), on the same holdout.
    table = str(candidates["candidates"])
    for family in ("lightgbm", "sklearn_linear", "sklearn_hgb"):
        assert f"| {family} " in table and "last 3" in table and "last 1" in table
    assert int(candidates["contenders"]) >= 6  # type: ignore[call-overload]
    # The champion names the window it learnt from, and exactly the batches of that window.
    window = tags["ct.window"]
    assert candidates["winner"] == f"{tags['ct.family']} on {window}"
    learnt = tags["ct.training_partitions"].split(",")
    assert learnt == partitions[-len(learnt) :]
    assert tags["ct.partition"] == partitions[-1]
    raw_ids = {
        b
        for p in learnt
        for b in str(metadata(project, "raw_batches", p)["batch_ids"]).split(", ")  # type: ignore[index]
    }
    assert len(raw_ids) == len(learnt)
    assert set(tags["ct.batch_ids"].split(",")) == raw_ids
    assert float(tags["ct.train_label_mean"]) > 0
    assert tags["ct.family"] in {"lightgbm", "sklearn_linear", "sklearn_hgb"}
    assert tags["ct.task"] == "binary" and tags["ct.metric"] == "roc_auc"

    for stage in STAGES[:3]:
        for partition in partitions:
            assert metadata(project, stage, partition) is not None, (stage, partition)
    last = partitions[-1]
    raw = metadata(project, "raw_batches", last)
    assert raw is not None and raw["dagster/row_count"] == 1
    validated = metadata(project, "validated_batches", last)
    assert validated is not None and validated["dagster/row_count"] == 1500
    assert "event_time" in str(validated["dagster/column_schema"])
    window = metadata(project, "training_window", last)
    assert window is not None and window["partitions"] == ", ".join(partitions)
    assert window["train_rows"] + window["holdout_rows"] == 4500  # type: ignore[operator]
    versions = str(candidates["model_versions"]).split(", ")
    # Only the winner is registered: nothing else could be promoted. No champion yet: nothing
    # for the incremental candidate to continue.
    assert versions == [champion]
    assert str(candidates["incremental"]).startswith("no champion to continue from")
    assert len(str(candidates["mlflow_run_ids"]).split(", ")) == 1
    evaluations = metadata(project, "model_evaluations", last)
    assert evaluations is not None and evaluations["champion_version"] == "none"
    assert evaluations["holdout_rows"] == window["holdout_rows"]
    production = metadata(project, "production_model", last)
    assert production is not None and production["decision"] == "promote"
    assert production["champion_before"] == "none" and production["champion_after"] == champion
    assert production["model_uri"] == f"models:/shop/{champion}"
    assert check_result(project, "validated_batches", "events_match_schema", last) is True
    assert check_result(project, "production_model", "promotion_gate", last) is True


def test_a_shuffled_label_challenger_is_refused(project: Project) -> None:
    partitions = run_days(project, range(2))
    registry = project.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    result = project.materialize(
        partitions[-1],
        'key:"candidate_models" or key:"model_evaluations" or key:"production_model"',
        ops={"candidate_models": {"config": {"permute_labels_seed": 3}}},
    )
    assert result.success
    assert registry.champion_version() == champion
    production = metadata(project, "production_model", partitions[-1])
    assert production is not None and production["decision"] == "keep champion"
    assert check_result(project, "production_model", "promotion_gate", partitions[-1]) is False
    evaluations = json.loads(
        (project.data_dir / "model_evaluations" / f"{partitions[-1]}.json").read_text()
    )
    best_permuted = max(c["metrics"]["roc_auc"] for c in evaluations["candidates"])
    assert best_permuted < evaluations["champion"]["metrics"]["roc_auc"] - 0.1
    permuted = registry.version_tags(evaluations["candidates"][0]["version"])
    assert permuted["ct.permuted_labels_seed"] == "3"


def data_lines(data: bytes) -> int:
    """Rows of a CSV delivery as lines after the header, readable or not."""
    return max(0, len([line for line in data.splitlines() if line.strip()]) - 1)


def test_every_malformed_kind_is_quarantined_and_the_good_batch_goes_on(project: Project) -> None:
    partition = project.partition(0)
    good = project.drop_day(0)
    dropped = {good.name: good.read_bytes()}
    sample = project.source.day(0).head(200)
    for kind in MALFORMED_RULES:
        name = f"bad_{kind}_{partition}.csv"
        dropped[name] = malformed_csv(sample, kind)
        (project.landing / name).write_bytes(dropped[name])

    result = project.materialize(partition)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    for stage in STAGES:
        assert metadata(project, stage, partition) is not None, stage
    assert check_result(project, "validated_batches", "events_match_schema", partition) is False
    assert project.resource("mlflow").champion_version() is not None

    store = project.resource("batch_store")
    manifests = {m["file_name"]: m for m in store.batches(partition)}
    assert set(manifests) == set(dropped)
    for name, data in dropped.items():  # raw keeps every delivery byte for byte
        assert Path(manifests[name]["raw_path"]).read_bytes() == data, name
        assert manifests[name]["sha256"] == hashlib.sha256(data).hexdigest()

    records = {r["file"]: r for r in store.quarantined(partition)}
    assert set(records) == set(dropped) - {good.name}
    for kind, rule in MALFORMED_RULES.items():
        record = records[f"bad_{kind}_{partition}.csv"]
        assert rule in record["rules"], (kind, record["reason"])
        assert record["reason"].startswith(f"bad_{kind}_{partition}.csv: ")
        held = store.quarantine_root / record["batch_id"] / record["file"]
        assert held.read_bytes() == dropped[record["file"]]
    wrong_type = records[f"bad_wrong_type_{partition}.csv"]
    assert "'amount'" in wrong_type["reason"] and wrong_type["failures"][0]["rows"]

    # Nothing lost: every row delivered is either validated or held in quarantine.
    validated = pd.read_parquet(project.data_dir / "validated_batches" / f"{partition}.parquet")
    rows_in = sum(data_lines(d) for d in dropped.values())
    rows_raw = sum(data_lines(Path(m["raw_path"]).read_bytes()) for m in manifests.values())
    held_rows = sum(data_lines(dropped[name]) for name in records)
    assert rows_raw == rows_in
    assert len(validated) == data_lines(dropped[good.name]) == 1500
    assert len(validated) + held_rows == rows_in
    # And the partition says so: delivered = validated + set aside + refused.
    counted = metadata(project, "validated_batches", partition)
    assert counted is not None
    assert counted["rows_delivered"] == rows_in and counted["rows_validated"] == 1500
    assert (counted["rows_refused"], counted["rows_set_aside"]) == (held_rows, 0)


def test_a_quarantined_day_does_not_stop_later_windows(project: Project) -> None:
    run_days(project, range(1))
    project.drop_day(1, corrupt(project.source.day(1), "missing_column"))
    assert not project.materialize(project.partition(1)).success
    run_days(project, range(2, 3))
    window = metadata(project, "training_window", project.partition(2))
    assert window is not None
    assert window["missing_partitions"] == project.partition(1)
    assert window["partitions"] == f"{project.partition(0)}, {project.partition(2)}"


def test_raw_is_immutable_and_a_redrop_is_not_ingested_twice(project: Project) -> None:
    path = project.drop_day(0)
    assert project.materialize(project.partition(0), 'key:"raw_batches"').success
    project.drop_day(0, name="copy_of_2026-01-01.csv")
    assert project.materialize(project.partition(0), 'key:"raw_batches"').success
    batches = project.resource("batch_store").batches(project.partition(0))
    assert len(batches) == 1
    assert batches[0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
