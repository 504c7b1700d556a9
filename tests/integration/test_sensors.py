"""The file-drop sensor and the automation conditions, on a real persistent instance."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from ct_assets.names import FILE_DROP, RAW_BATCHES, STAGES, TRIGGER_TAG, source_key
from sensors.file_drop import DropCursor
from tests.conftest import Deployment

DOWNSTREAM = STAGES[1:]
EXAMPLES = ["shop", "energy"]


def deployment(request: pytest.FixtureRequest, example: str) -> Deployment:
    return request.getfixturevalue("project" if example == "shop" else example)


def tick(project: Deployment, cursor: str | None) -> Any:
    sensor = project.defs.get_sensor_def("file_drop_sensor")
    context = dg.build_sensor_context(
        instance=project.instance,
        cursor=cursor,
        definitions=project.defs,
        resources={"file_drop": project.resource("file_drop")},
    )
    result = sensor.evaluate_tick(context)
    return result


@pytest.mark.parametrize("example", EXAMPLES)
def test_one_new_file_requests_exactly_its_partition(
    request: pytest.FixtureRequest, example: str
) -> None:
    project = deployment(request, example)
    assert tick(project, None).run_requests == []
    project.drop_day(1)
    first = tick(project, None)
    (run,) = first.run_requests
    assert run.partition_key == project.partition(1)
    assert run.asset_selection == [dg.AssetKey(RAW_BATCHES)]
    assert run.run_key is not None
    assert run.tags[TRIGGER_TAG] == FILE_DROP
    (event,) = first.asset_events
    assert event.asset_key == source_key(FILE_DROP)

    # A restarted daemon resumes from the stored cursor: nothing new, nothing requested.
    again = tick(project, first.cursor)
    assert again.run_requests == []
    assert again.cursor == first.cursor


def test_identical_bytes_under_a_new_name_are_recognised(project: Deployment) -> None:
    path = project.drop_day(0)
    first = tick(project, None)
    assert len(first.run_requests) == 1
    resent = project.landing / f"resent_{project.partition(0)}.csv"
    resent.write_bytes(path.read_bytes())
    second = tick(project, first.cursor)
    assert second.run_requests == []
    cursor = DropCursor.parse(second.cursor)
    assert str(resent) in cursor.files
    assert len(cursor.hashes) == 1


@pytest.mark.parametrize("example", EXAMPLES)
def test_files_of_two_days_request_two_partitions_and_changed_content_is_new(
    request: pytest.FixtureRequest, example: str
) -> None:
    project = deployment(request, example)
    project.drop_day(0)
    project.drop_day(2)
    first = tick(project, None)
    assert sorted(r.partition_key for r in first.run_requests) == [
        project.partition(0),
        project.partition(2),
    ]
    project.drop_day(2, project.source.day(3))  # same name, new bytes
    second = tick(project, first.cursor)
    # Rows are placed by their event time, not by the file's name.
    assert [r.partition_key for r in second.run_requests] == [project.partition(3)]
    assert second.run_requests[0].run_key != first.run_requests[1].run_key


def requested(result: dg.EvaluateAutomationConditionsResult) -> dict[str, set[str]]:
    return {
        k: set(result.get_requested_partitions(dg.AssetKey(k)))
        for k in STAGES
        if result.get_num_requested(dg.AssetKey(k))
    }


@pytest.mark.parametrize("example", EXAMPLES)
def test_automation_runs_the_whole_chain_for_a_new_partition_only(
    request: pytest.FixtureRequest, example: str
) -> None:
    project = deployment(request, example)
    cursor = dg.evaluate_automation_conditions(project.defs, project.instance).cursor
    project.drop_day(0)
    assert project.materialize(project.partition(0), f'key:"{RAW_BATCHES}"').success
    result = dg.evaluate_automation_conditions(project.defs, project.instance, cursor=cursor)
    assert requested(result) == {k: {project.partition(0)} for k in DOWNSTREAM}


@pytest.mark.parametrize("example", EXAMPLES)
def test_automation_stops_at_a_failed_blocking_check_and_resumes_next_day(
    request: pytest.FixtureRequest, example: str
) -> None:
    project = deployment(request, example)
    cursor = dg.evaluate_automation_conditions(project.defs, project.instance).cursor
    project.drop_day(0, project.module.corrupt(project.source.day(0), "missing_column"))
    assert project.materialize(project.partition(0), f'key:"{RAW_BATCHES}"').success
    result = dg.evaluate_automation_conditions(project.defs, project.instance, cursor=cursor)
    assert requested(result) == {k: {project.partition(0)} for k in DOWNSTREAM}
    assert not project.materialize(
        project.partition(0), " or ".join(f'key:"{k}"' for k in DOWNSTREAM)
    ).success

    # Nothing is retried for the refused day, and no later window is started early.
    result = dg.evaluate_automation_conditions(project.defs, project.instance, cursor=result.cursor)
    assert requested(result) == {}

    project.drop_day(1)
    assert project.materialize(project.partition(1), f'key:"{RAW_BATCHES}"').success
    result = dg.evaluate_automation_conditions(project.defs, project.instance, cursor=result.cursor)
    assert requested(result) == {k: {project.partition(1)} for k in DOWNSTREAM}
