"""Data-to-champion latency with the real daemon: a 100k-row batch dropped, the alias moved.

Prints figures; asserts nothing. Run: `uv run python bench/data_to_champion.py [--rows N]`.
Goal (issue 5): < 60 s from the file landing to the `champion` alias on a model trained on it.

Two batches go through the product as shipped (dagster-daemon, sensors and automation RUNNING,
SQLite instance, local MLflow store, default gates): the first day becomes the first champion
on the floor alone; the second day has shifted (the source drifts), so its challenger beats the
champion through every gate, the infrastructure gate's fresh process included. For each, the
time from the drop to the alias move, and the runs the daemon started on the way.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from ct_assets.demo import child_env, dagster_processes, prepare_home
from ct_assets.ml.datagen import DriftingSource, write_atomically
from ct_assets.settings import load_settings
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
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ct"
        prepare_home(home)
        first_day = datetime.now(UTC).date() - timedelta(days=2)
        settings = replace(load_settings(), home=home, partition_start=first_day.isoformat())
        os.environ.update(child_env(settings))
        registry = MlflowRegistry(
            tracking_uri=f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}",
            artifact_root=str(settings.mlflow_dir / "artifacts"),
        )
        source = DriftingSource(start=first_day, rows_per_day=args.rows, drift_day=1)
        print(
            f"{args.rows:,}-row batches, sensor interval {settings.sensor_interval_seconds} s, "
            f"training window {settings.training_window}, home {home}"
        )
        with dagster_processes(settings, None) as procs, dg.DagsterInstance.get() as instance:
            time.sleep(5)  # the daemon loads the code location before its first tick
            for day in (0, 1):
                before = registry.champion_version()
                frame = source.day(day)
                dropped = time.time()
                write_atomically(frame, settings.landing_dir / source.day_name(day))
                deadline = dropped + args.timeout
                while registry.champion_version() == before and time.time() < deadline:
                    if any(p.poll() is not None for p in procs):
                        raise SystemExit("the daemon exited; see logs/ under CT_HOME")
                    time.sleep(0.5)
                elapsed = time.time() - dropped
                after = registry.champion_version()
                outcome = f"champion v{before} -> v{after}" if after != before else "no move"
                print(f"day {day}: {outcome} {elapsed:6.1f} s after the drop  (goal < 60 s)")
                time.sleep(2)
                print("\n".join(runs_since(instance, dropped)))


if __name__ == "__main__":
    main()
