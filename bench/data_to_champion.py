"""Data-to-champion latency with the real daemon: a 100k-row batch dropped, the alias moved.

Prints figures; asserts nothing. Run: `uv run python bench/data_to_champion.py [--rows N]
[--example shop|energy]`.
Goal (issue 5): < 60 s from the file landing to the `champion` alias on a model trained on it.

Two batches go through the product as shipped, on a project made from
`examples/<example>/ct.yaml` (dagster-daemon started as `ct up` starts it, sensors and
automation RUNNING, SQLite instance, local MLflow store, the example's gates and families): the
first day becomes the first champion on the floor alone; the second day has shifted (the
source drifts), so its challenger beats the champion through every gate, the infrastructure
gate's fresh process included. For each, the time from the drop to the alias move, and the runs
the daemon started on the way.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from common import example_project

from ct_assets.cli.processes import dagster_servers
from resources.mlflow_registry import MlflowRegistry


def runs_since(instance: dg.DagsterInstance, since: float) -> list[str]:
    lines = []
    for record in reversed(instance.get_run_records(limit=50)):
        if record.start_time is None or record.start_time < since:
            continue
        assets = ", ".join(
            sorted(k.to_user_string() for k in record.dagster_run.asset_selection or [])
        )
        end = record.end_time or time.time()
        created = record.create_timestamp.timestamp()
        lines.append(
            f"    {record.start_time - since:6.1f} s -> {end - since:6.1f} s  "
            f"{record.dagster_run.status.value:<8} {assets}  "
            f"(requested at {created - since:.1f} s)"
        )
        lines.extend(step_lines(instance, record.dagster_run.run_id, since))
    return lines


def step_lines(instance: dg.DagsterInstance, run_id: str, since: float) -> list[str]:
    """Where a run's time went: each step's start, end and duration."""
    started: dict[str, float] = {}
    lines = []
    for event in instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    ):
        key = event.step_key or "?"
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            started[key] = event.timestamp
        elif key in started:
            lines.append(
                f"        {started[key] - since:6.1f} s -> {event.timestamp - since:6.1f} s  "
                f"{event.timestamp - started[key]:5.1f} s  {key}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--example", choices=["shop", "energy"], default="shop")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    module = importlib.import_module(f"examples.{args.example}.generator")
    with tempfile.TemporaryDirectory() as tmp:
        first_day = datetime.now(UTC).date() - timedelta(days=2)
        changes = {"partitions": {"start": first_day.isoformat()}}
        project = example_project(args.example, Path(tmp) / args.example, changes)
        project.landing_dir.mkdir(parents=True, exist_ok=True)
        spec = project.spec
        registry = MlflowRegistry(
            tracking_uri=f"sqlite:///{project.mlflow_dir / 'mlflow.db'}",
            artifact_root=str(project.mlflow_dir / "artifacts"),
            registered_model=spec.model_name,
        )
        # The second day is past the source's shift: its challenger must beat the champion.
        source = module.demo_source(first_day, args.rows, drift_day=1)
        print(
            f"{args.example} ({spec.task.type}, {spec.metric}): {args.rows:,}-row batches, "
            f"sensor interval {project.poll_seconds} s, training window {spec.training.window}, "
            f"families {', '.join(spec.training.families)}, project {project.root}"
        )
        with (
            dagster_servers(project) as servers,
            dg.DagsterInstance.from_config(str(project.dagster_home)) as instance,
        ):
            time.sleep(5)  # the daemon loads the code location before its first tick
            for day in (0, 1):
                before = registry.champion_version()
                frame = source.day(day)
                dropped = time.time()
                module.write_atomically(frame, project.landing_dir / source.day_name(day))
                deadline = dropped + args.timeout
                while registry.champion_version() == before and time.time() < deadline:
                    if not servers.alive():
                        raise SystemExit(f"the daemon exited; see {project.home / 'logs'}")
                    time.sleep(0.5)
                elapsed = time.time() - dropped
                after = registry.champion_version()
                outcome = f"champion v{before} -> v{after}" if after != before else "no move"
                print(f"day {day}: {outcome} {elapsed:6.1f} s after the drop  (goal < 60 s)")
                time.sleep(2)
                print("\n".join(runs_since(instance, dropped)))


if __name__ == "__main__":
    main()
