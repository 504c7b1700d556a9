"""Rows go to the partitions of their own event time; late data re-opens the days it touches."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from ct_assets.names import RAW_BATCHES, VALIDATED_BATCHES
from ct_assets.reads.observe import latest_metadata
from tests.conftest import EAGER_GATES, Deployment

# Raw and validated only, where a test watches nothing later (`key:raw_batches+` is every stage
# downstream of raw).
INGEST = f'key:"{RAW_BATCHES}" or key:"{VALIDATED_BATCHES}"'


@pytest.mark.parametrize("example", ["shop", "energy"])
def test_a_file_spanning_two_days_feeds_both_and_loses_no_row(
    request: pytest.FixtureRequest, example: str
) -> None:
    project: Deployment = request.getfixturevalue("project" if example == "shop" else example)
    selection = f"key:{RAW_BATCHES}+" if example == "shop" else INGEST
    first, second = project.source.day(0), project.source.day(1)
    both = pd.concat([first.tail(500), second.head(700)], ignore_index=True)
    project.drop_day(0, both, name="export_mixed.csv")
    for index in range(2):
        assert project.materialize(project.partition(index), selection).success
    counts = [
        latest_metadata(project.instance, VALIDATED_BATCHES, project.partition(i))[
            "dagster/row_count"
        ]  # type: ignore[index]
        for i in range(2)
    ]
    assert counts == [500, 700]
    store = project.resource("batch_store")
    (batch,) = store.batches(project.partition(0))
    assert store.batches(project.partition(1)) == [batch]
    assert batch["partitions"] == [project.partition(0), project.partition(1)]


def test_late_data_reopens_the_day_it_belongs_to(project: Deployment) -> None:
    for index in range(2):
        project.drop_day(index)
        assert project.materialize(project.partition(index)).success
    cursor = dg.evaluate_automation_conditions(project.defs, project.instance).cursor
    late = (
        project.source.day(0)
        .head(100)
        .assign(
            event_id=lambda f: "late-" + f["event_id"],
        )
    )
    project.drop_day(0, late, name="late_arrivals.csv")
    assert project.materialize(project.partition(0), f"key:{RAW_BATCHES}").success
    result = dg.evaluate_automation_conditions(project.defs, project.instance, cursor=cursor)
    assert set(result.get_requested_partitions(dg.AssetKey(VALIDATED_BATCHES))) == {
        project.partition(0)
    }
    assert project.materialize(project.partition(0), f"key:{RAW_BATCHES}+").success
    validated = latest_metadata(project.instance, VALIDATED_BATCHES, project.partition(0))
    assert validated is not None and validated["dagster/row_count"] == 1500 + 100


def test_late_readings_without_an_event_id_reopen_their_day(energy: Deployment) -> None:
    # No event id: the late rows get ids of their own batch, so none is taken for a duplicate.
    for index in range(2):
        energy.drop_day(index)
        assert energy.materialize(energy.partition(index), INGEST).success
    cursor = dg.evaluate_automation_conditions(energy.defs, energy.instance).cursor
    late = energy.source.day(0).head(100).assign(load_kwh=lambda f: f["load_kwh"] + 1.0)
    energy.drop_day(0, late, name="late_readings.csv")
    assert energy.materialize(energy.partition(0), f"key:{RAW_BATCHES}").success
    result = dg.evaluate_automation_conditions(energy.defs, energy.instance, cursor=cursor)
    assert set(result.get_requested_partitions(dg.AssetKey(VALIDATED_BATCHES))) == {
        energy.partition(0)
    }
    assert energy.materialize(energy.partition(0), INGEST).success
    validated = latest_metadata(energy.instance, VALIDATED_BATCHES, energy.partition(0))
    assert validated is not None and validated["dagster/row_count"] == 1500 + 100


def test_a_late_day_never_takes_the_champion_from_a_newer_decision(project: Deployment) -> None:
    # A gate that promotes anything, so that only the late-data rule can refuse.
    project.reconfigure(EAGER_GATES)
    project.drop_day(0)
    assert project.materialize(project.partition(0), f"key:{RAW_BATCHES}+").success
    project.drop_day(2)
    assert project.materialize(project.partition(2)).success
    champion = project.resource("mlflow").champion_version()
    assert champion is not None
    result = project.materialize(
        project.partition(0),
        'key:"candidate_models" or key:"model_evaluations" or key:"production_model"',
    )
    assert result.success
    decision = latest_metadata(project.instance, "production_model", project.partition(0))
    assert decision is not None and decision["decision"] == "keep champion"
    assert "late data is recorded, not promoted" in str(decision["reason"])
    assert project.resource("mlflow").champion_version() == champion


def test_a_file_spanning_two_days_sets_its_bad_rows_aside_once_and_loses_no_row(
    energy: Deployment,
) -> None:
    first, second = energy.source.day(0), energy.source.day(1)
    both = pd.concat([first.tail(500), second.head(700)], ignore_index=True)
    both = both.astype({"timestamp": object})
    both.loc[10, "humidity_pct"] = 140.0  # a reading of day 0 out of range
    both.loc[600, "humidity_pct"] = -5.0  # and one of day 1
    both.loc[650, "timestamp"] = ""  # a reading of no time: counted in the batch's first day
    energy.drop_day(0, both, name="export_mixed.csv")
    store = energy.resource("batch_store")
    counted = []
    for index in range(2):
        assert energy.materialize(energy.partition(index), INGEST).success
        # Each day's run judges the whole batch alike: one record, written once.
        (record,) = store.all_quarantined()
        if index == 0:
            written = record
        assert record == written
        validated = latest_metadata(energy.instance, VALIDATED_BATCHES, energy.partition(index))
        assert validated is not None
        counted.append(
            [validated[k] for k in ("rows_delivered", "rows_validated", "rows_set_aside")]
        )
    assert counted == [[501, 499, 2], [699, 698, 1]]
    assert sum(c[0] for c in counted) == len(both)
    assert written["kind"] == "set_aside" and written["rows_set_aside"] == 3
    assert sorted(written["rules"]) == ["no_event_time", "out_of_range"]
    table = pd.read_csv(store.quarantine_root / written["batch_id"] / "set_aside.csv", dtype=str)
    assert table["ct_line"].tolist() == ["12", "602", "652"]
