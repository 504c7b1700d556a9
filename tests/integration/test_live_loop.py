"""Decisions that hold live, judged as a user judges them: a project made by `ct init` from day 1
of a drifting stream, fed one daily file at a time to the real daemon (sensors, automation, a
real MLflow store, real files), and each champion's holdout figure held against its live figure
on the next partitions.

- a concept change (the label follows a new rule from day K, every feature unchanged), with
  calendar features declared: flagged red on the day it lands, recovered from through the short
  window within three partitions, and no champion's holdout far above its live figure;
- the same change with a day of week forced in and only the whole window to train on (the
  project the issue reported): the evaluation gap fires and names the calendar feature;
- a harmless covariate drift: no promotion, no rollback, no alarm.
"""

from __future__ import annotations

import io
import math
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from ct_assets.cli import main
from ct_assets.cli.demo import Observer
from ct_assets.cli.processes import dagster_servers, processes_with
from ct_assets.names import (
    CHAMPION_PERFORMANCE,
    GAP_CHECK,
    LIVE_CHECK,
    PRODUCTION_MODEL,
)
from ct_assets.project.load import PROJECT_FILE, Project, deep_merge, load_project
from ct_assets.reads.observe import latest_check, latest_metadata
from resources.mlflow_registry import MlflowRegistry
from tests.streams import Stream

# A Monday: the day of week rises through the first week, so a tree can split on "from
# Friday on" and the wrap to Monday on day 7 is the next day it never saw.
START = date(2026, 6, 1)
DAY_TIMEOUT = 300.0
GAP = 0.05


def init_project(root: Path, stream: Stream, changes: dict[str, Any]) -> Project:
    """`ct init` on day 1's file, then what the test declares beside it."""
    sample = stream.write(root.parent / "exports", 0)
    assert main(["init", "--from", str(sample), "--label", "y", "--out", str(root)]) == 0
    declared = yaml.safe_load((root / PROJECT_FILE).read_text())
    # A fast sensor and two families keep a day of the daemon short on two cores.
    speed = {
        "sources": {"poll_interval": "1s"},
        "training": {"families": ["lightgbm", "sklearn_linear"]},
    }
    merged = deep_merge(deep_merge(declared, speed), changes)
    (root / PROJECT_FILE).write_text(yaml.safe_dump(merged, sort_keys=False))
    return load_project(root, environ={})


def feed(project: Project, stream: Stream, days: int) -> dict[str, str]:
    """Every day's file into landing/, one at a time, each awaited: partition -> outcome."""
    outcomes = {}
    registry = registry_of(project)
    quiet = 4 * project.poll_seconds + 12
    with dagster_servers(project) as servers:
        observer = Observer(project, Console(file=io.StringIO()), time.monotonic())
        for index in range(days):
            partition = stream.partition(index)
            observer.day_began = datetime.now(UTC).isoformat()
            stream.write(project.landing_dir, index)
            outcomes[partition] = observer.await_outcome(
                partition, servers, DAY_TIMEOUT, registry.history, quiet
            )
            assert not outcomes[partition].startswith("timed out"), outcomes
        # What automation starts after a day's decision (live_performance) finishes too.
        deadline = time.monotonic() + 180
        while any(not r.is_finished for r in observer.instance.get_runs(limit=20)):
            assert time.monotonic() < deadline, "runs still in progress after the last day"
            time.sleep(1.0)
    assert processes_with("CT_PROJECT", str(project.root)) == []
    return outcomes


def registry_of(project: Project) -> MlflowRegistry:
    return MlflowRegistry(
        tracking_uri=f"sqlite:///{project.mlflow_dir / 'mlflow.db'}",
        artifact_root=str(project.mlflow_dir / "artifacts"),
        registered_model=project.spec.model_name,
    )


def history(project: Project, stream: Stream, days: int) -> list[dict[str, Any]]:
    """Per partition: the champion that scored it, its live and holdout figures, the checks,
    and the decision taken after it."""
    import dagster as dg

    rows = []
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        for index in range(days):
            partition = stream.partition(index)
            scored = latest_metadata(instance, CHAMPION_PERFORMANCE, partition) or {}
            decided = latest_metadata(instance, PRODUCTION_MODEL, partition) or {}
            checks = {
                name: latest_check(instance, CHAMPION_PERFORMANCE, check, partition)
                for name, check in (("live_check", LIVE_CHECK), ("gap_check", GAP_CHECK))
            }
            rows.append(
                {
                    "index": index,
                    "partition": partition,
                    "champion": scored.get("champion_version"),
                    "live": scored.get("champion_roc_auc", math.nan),
                    "holdout": scored.get("baseline_roc_auc", math.nan),
                    **checks,
                    "decision": decided.get("decision"),
                    "after": decided.get("champion_after"),
                }
            )
    return rows


def shown(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['partition']} v{r['champion']} live {r['live']:.3f} holdout {r['holdout']:.3f} "
        f"live_check {r['live_check'] and r['live_check']['passed']} "
        f"gap {r['gap_check'] and r['gap_check']['passed']} -> {r['decision']} v{r['after']}"
        for r in rows
    )


CALENDAR = {
    "features": {
        "transforms": [
            {"name": "event_time_hour", "op": "hour", "column": "event_time"},
            {"name": "event_time_day_of_week", "op": "day_of_week", "column": "event_time"},
        ]
    },
    "training": {"window": 5},
}


@pytest.mark.integration
def test_a_concept_change_is_red_the_day_it_lands_and_recovered_through_the_short_window(
    tmp_path: Path,
) -> None:
    stream = Stream(START, rows=1500, change_day=4)
    project = init_project(tmp_path / "proj", stream, CALENDAR)
    assert project.spec.policy.retrain.triggers == ["every_partition"]
    days = 8
    feed(project, stream, days)
    rows = history(project, stream, days)
    table = shown(rows)
    change = stream.change_day
    assert change is not None
    # Red on the day it lands, not before.
    assert rows[change]["live_check"]["passed"] is False, table
    assert all(r["live_check"]["passed"] for r in rows[1:change]), table
    # Back near a model of the new rule alone within three partitions.
    recovered = rows[change + 3]
    oracle = stream.oracle(change + 3, window=5)
    assert recovered["live"] >= oracle - 0.03, (oracle, table)
    # No champion's holdout was far above its live figure where the world did not change: the
    # day of week was left out (it names the partition in a five-day window).
    for row in rows[1:]:
        if row["index"] != change and row["gap_check"]["metadata"].get("judged"):
            assert row["gap_check"]["passed"], table
    registry = registry_of(project)
    champion = registry.champion_version()
    assert champion is not None
    tags = registry.version_tags(champion)
    assert "event_time_day_of_week" not in tags["ct.selected_features"].split(",")
    decided = latest_candidates(project, stream.partition(change + 1))
    assert "event_time_day_of_week" in str(decided["features_dropped"])
    assert decided["change_point"] == stream.partition(change)


def latest_candidates(project: Project, partition: str) -> dict[str, Any]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        found = latest_metadata(instance, "candidate_models", partition)
    assert found is not None
    return found


@pytest.mark.integration
def test_a_forced_day_of_week_misleads_the_holdout_and_the_gap_check_names_it(
    tmp_path: Path,
) -> None:
    stream = Stream(START, rows=1500, change_day=4)
    forced = deep_merge(
        CALENDAR,
        {
            "training": {
                "windows": [5],
                "selection": {"force": ["event_time_day_of_week"]},
            }
        },
    )
    project = init_project(tmp_path / "proj", stream, forced)
    days = 8
    feed(project, stream, days)
    rows = history(project, stream, days)
    table = shown(rows)
    change = stream.change_day
    assert change is not None
    failed = [r for r in rows if r["gap_check"]["passed"] is False and r["index"] > change]
    assert failed, table
    assert any("event_time_day_of_week" in r["gap_check"]["description"] for r in failed), table
    assert any("a calendar feature" in r["gap_check"]["description"] for r in failed), table


@pytest.mark.integration
def test_a_harmless_drift_promotes_nothing_and_alarms_no_one(tmp_path: Path) -> None:
    stream = Stream(START, rows=1500, shift_from=3, shift=0.5)
    # A linear rule a linear model learns from one day: nothing better is there to find.
    project = init_project(
        tmp_path / "proj", stream, {"training": {"window": 5, "families": ["sklearn_linear"]}}
    )
    days = 7
    feed(project, stream, days)
    rows = history(project, stream, days)
    table = shown(rows)
    assert all(r["decision"] == "keep champion" for r in rows[stream.shift_from :]), table
    assert all(r["live_check"]["passed"] for r in rows[1:]), table
    assert all(r["gap_check"]["passed"] for r in rows[1:]), table
    moves = registry_of(project).history()
    assert [m["kind"] for m in moves].count("rollback") == 0
