"""`ct demo`: the whole loop on the embedded default, driven only by the daemon's sensors.

The demo is a producer and an observer, nothing more: it drops daily files into the landing
folder and reads the Dagster instance to report what the sensors and automation did.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console
from rich.table import Table

from ct_assets.drift import FEATURE_DRIFT
from ct_assets.features import FEATURES
from ct_assets.ml.datagen import DriftingSource, corrupt, write_atomically
from ct_assets.observe import latest_metadata
from ct_assets.production import PRODUCTION_MODEL
from ct_assets.settings import PROJECT_ROOT, PipelineSettings, load_settings
from ct_assets.validated import VALIDATED_BATCHES

MARKER = ".ct-home"
TERMINAL = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


@dataclass(frozen=True)
class DemoDay:
    index: int
    note: str
    corruption: str | None = None
    good_file: bool = True


SCRIPT = (
    DemoDay(0, "first data: the first model is promoted on the floor alone"),
    DemoDay(1, "more of the same: a challenger must beat the champion by the margin"),
    DemoDay(
        2,
        "a broken export (text in 'amount') lands beside the good file: it is quarantined, "
        "the good file goes on",
        "wrong_type",
    ),
    DemoDay(3, "the world shifts: the champion's relationship no longer holds"),
    DemoDay(4, "shifted data keeps arriving"),
    DemoDay(5, "shifted data keeps arriving"),
)


@dataclass
class DayReport:
    partition: str
    note: str
    files: list[str] = field(default_factory=list)
    outcome: str = "pending"


def demo_settings(home: Path, first_day: date) -> PipelineSettings:
    return replace(
        load_settings(),
        home=home,
        partition_start=first_day.isoformat(),
        training_window=3,
        sensor_interval_seconds=2,
    )


def child_env(settings: PipelineSettings) -> dict[str, str]:
    """The environment of every process the demo starts: they must agree on every setting."""
    env = dict(os.environ)
    env.update(
        {
            "DAGSTER_HOME": str(settings.dagster_home),
            "CT_HOME": str(settings.home),
            "CT_PARTITION_START": settings.partition_start,
            "CT_TRAINING_WINDOW": str(settings.training_window),
            "CT_SENSOR_INTERVAL_SECONDS": str(settings.sensor_interval_seconds),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def prepare_home(home: Path) -> None:
    """Start from nothing, refusing to delete a folder ct did not create."""
    if home.exists():
        if not (home / MARKER).exists():
            raise SystemExit(f"{home} exists and is not a ct home; choose another CT_HOME")
        shutil.rmtree(home)
    (home / "dagster_home").mkdir(parents=True)
    (home / MARKER).write_text("created by ct demo\n")
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster_home" / "dagster.yaml")


def _bin(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else name


@contextmanager
def dagster_processes(
    settings: PipelineSettings, ui_port: int | None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = child_env(settings)
    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    commands = [[_bin("dagster-daemon"), "run", "-w", "workspace.yaml"]]
    if ui_port is not None:
        commands.append(
            [
                _bin("dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(ui_port),
                "-w",
                "workspace.yaml",
            ]
        )
    procs = []
    for command in commands:
        log = (logs / f"{Path(command[0]).name}.log").open("wb")
        procs.append(
            subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
    try:
        yield procs
    finally:
        if ui_port is None:
            stop(procs)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class Observer:
    """Reads the instance the daemon writes to, and narrates run transitions once each."""

    def __init__(self, console: Console, started: float) -> None:
        self.instance = dg.DagsterInstance.get()
        self.console = console
        self.started = started
        self.statuses: dict[str, dg.DagsterRunStatus] = {}

    def narrate(self) -> None:
        for run in self.instance.get_runs(limit=50):
            if self.statuses.get(run.run_id) == run.status:
                continue
            self.statuses[run.run_id] = run.status
            if run.status not in TERMINAL and run.status != dg.DagsterRunStatus.STARTED:
                continue
            assets = ", ".join(sorted(k.to_user_string() for k in run.asset_selection or []))
            partition = run.tags.get("dagster/partition", "-")
            colour = {"SUCCESS": "green", "FAILURE": "red"}.get(run.status.value, "cyan")
            self.console.print(
                f"  [dim]{time.monotonic() - self.started:5.0f}s[/] run {run.run_id[:8]} "
                f"[{colour}]{run.status.value:<8}[/] {partition}  {assets}"
            )

    def materialization(self, asset: str, partition: str) -> dict[str, Any] | None:
        return latest_metadata(self.instance, asset, partition)

    def busy(self, partition: str) -> bool:
        return any(
            run.status not in TERMINAL and run.tags.get("dagster/partition") == partition
            for run in self.instance.get_runs(limit=50)
        )

    def settled(self, partition: str) -> str | None:
        if self.busy(partition):
            return None
        production = self.materialization(PRODUCTION_MODEL, partition)
        if production is not None:
            return str(production["decision"])
        validated = self.materialization(VALIDATED_BATCHES, partition)
        refused = validated is not None and validated["quarantined_batch_ids"] != "none"
        if refused and self.materialization(FEATURES, partition) is None:
            return "stopped: batch quarantined"
        return None


def summary_table(observer: Observer, days: list[DayReport], settings: PipelineSettings) -> Table:
    table = Table(title="ct demo: what the sensors and automation did, per day")
    for column in (
        "day",
        "rows",
        "schema check",
        "drift share",
        "candidates (holdout ROC AUC)",
        "champion",
        "why",
    ):
        table.add_column(column, overflow="fold")
    for day in days:
        validated = observer.materialization(VALIDATED_BATCHES, day.partition) or {}
        production = observer.materialization(PRODUCTION_MODEL, day.partition)
        evaluations = load_json(settings, "model_evaluations", day.partition)
        drift = observer.materialization(FEATURE_DRIFT, day.partition)
        quarantined = validated.get("quarantined_batch_ids", "none")
        if quarantined == "none":
            check = "[green]passed[/]"
        elif validated.get("dagster/row_count"):
            check = f"[yellow]warned[/]: {quarantined} quarantined, the rest went on"
        else:
            check = f"[red]failed[/]: {quarantined} quarantined, nothing valid"
        candidates = (
            ", ".join(
                f"v{c['version']} {c['family']} {c['roc_auc']:.3f}"
                for c in evaluations["candidates"]
            )
            if evaluations
            else "-"
        )
        if production:
            champion = f"{production['champion_before']} → {production['champion_after']}"
            why = f"{production['decision']}: {production['reason']}"
        else:
            champion, why = "unchanged", day.outcome
        table.add_row(
            day.partition,
            str(validated.get("dagster/row_count", "-")),
            check,
            f"{drift['drift_share']:.2f}" if drift else "-",
            candidates,
            champion,
            why,
        )
    return table


def load_json(settings: PipelineSettings, asset: str, partition: str) -> Any:
    import json

    path = settings.data_dir / asset / f"{partition}.json"
    return json.loads(path.read_text()) if path.exists() else None


def drop_files(
    day: DemoDay, source: DriftingSource, settings: PipelineSettings, report: DayReport
) -> None:
    """Act as the producer: the day's file, and a broken export beside it if scripted."""
    good = source.day(day.index)
    landing = settings.landing_dir
    if day.good_file:
        report.files.append(write_atomically(good, landing / source.day_name(day.index)).name)
    if day.corruption:
        bad_name = f"late_export_{report.partition}.csv"
        write_atomically(corrupt(good.head(500), day.corruption), landing / bad_name)
        report.files.append(bad_name)


def await_outcome(
    observer: Observer, partition: str, procs: list[subprocess.Popen[bytes]], timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        observer.narrate()
        outcome = observer.settled(partition)
        if outcome is not None:
            return outcome
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a Dagster process exited; see the logs/ folder of CT_HOME")
        time.sleep(1.0)
    return f"timed out after {timeout:.0f}s"


def hold_ui(console: Console, port: int, procs: list[subprocess.Popen[bytes]]) -> None:
    console.print(f"The UI stays up at http://127.0.0.1:{port} (daemon too); Ctrl-C to stop.")
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)


def run_demo(
    ui_port: int | None = None,
    script: tuple[DemoDay, ...] = SCRIPT,
    rows_per_day: int = 3000,
    day_timeout: float = 150.0,
) -> list[DayReport]:
    """Drop the scripted days one by one and report what the daemon made of each."""
    # A summary table wide enough to read even when output goes to a file or a CI log.
    console = Console() if Console().is_terminal else Console(width=160)
    started = time.monotonic()
    first_day = datetime.now(UTC).date() - timedelta(days=len(script))
    home = Path(os.environ.get("CT_HOME", PROJECT_ROOT / ".ct")).resolve()
    prepare_home(home)
    settings = demo_settings(home, first_day)
    os.environ.update(child_env(settings))
    source = DriftingSource(start=first_day, rows_per_day=rows_per_day, drift_day=3)
    console.rule("[bold]ct demo: continuous training on the embedded default")
    console.print(f"home: {home}  (Dagster instance: SQLite, MLflow: {settings.mlflow_dir})")
    reports: list[DayReport] = []
    with dagster_processes(settings, ui_port) as procs:
        if ui_port is not None:
            console.print(f"Dagster UI: [bold]http://127.0.0.1:{ui_port}[/]")
        console.print("started dagster-daemon; sensors and automation are RUNNING by default")
        observer = Observer(console, started)
        for day in script:
            report = DayReport((first_day + timedelta(days=day.index)).isoformat(), day.note)
            reports.append(report)
            console.print(f"\n[bold]{report.partition}[/]: {day.note}")
            drop_files(day, source, settings, report)
            console.print(f"  dropped {', '.join(report.files)} into {settings.landing_dir}")
            report.outcome = await_outcome(observer, report.partition, procs, day_timeout)
            console.print(f"  → {report.outcome}")
        observer.narrate()
        console.print()
        console.print(summary_table(observer, reports, settings))
        console.print(f"demo finished in {time.monotonic() - started:.0f}s")
        if ui_port is not None:
            hold_ui(console, ui_port, procs)
    return reports
