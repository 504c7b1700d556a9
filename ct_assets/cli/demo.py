"""`ct demo [EXAMPLE]`: an example project, run as a user runs theirs.

The demo creates a project from `examples/<EXAMPLE>/ct.yaml`, starts the same daemon `ct up`
starts, and acts as a producer and an observer only: it drops each scripted day's files into
the landing folder and reads the instance to report what the sensors and automation did.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ct_assets.cli import command_parser, port
from ct_assets.project.load import PROJECT_FILE, Project, ProjectError, load_project

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples"
DEFAULT_EXAMPLE = "shop"
MARKER = ".ct-demo"


@dataclass(frozen=True)
class DemoDay:
    index: int
    note: str
    # A broken export dropped beside the day's file (a kind the example's `broken` knows).
    corruption: str | None = None
    good_file: bool = True
    # Before the day's data, an operator forces a model trained on shuffled labels through as
    # champion, bypassing every gate: while it bakes, the rollback policy must catch it.
    force_bad: bool = False


class Source(Protocol):
    def day(self, index: int) -> Any: ...

    def day_name(self, index: int) -> str: ...


@dataclass
class DayReport:
    partition: str
    note: str
    files: list[str] = field(default_factory=list)
    outcome: str = "pending"
    served: int = 0


def register(commands: argparse._SubParsersAction) -> None:
    names = sorted(p.name for p in EXAMPLES.iterdir() if (p / PROJECT_FILE).exists())
    parser = command_parser(
        commands,
        "demo",
        summary="run an example project end to end on its own",
        description=f"""Create a project from one of the examples ({", ".join(names)}), start
        the daemon and ct serve as `ct up` would, and drop the example's scripted days into its
        landing folder one by one, reporting what the sensors and automation made of each:
        quarantined files, retrains, promotions, rollbacks. Nothing else acts on the project.""",
        examples=["ct demo", "ct demo energy --ui --dir /tmp/energy-demo"],
    )
    parser.add_argument("example", nargs="?", default=DEFAULT_EXAMPLE, choices=names)
    parser.add_argument("--ui", action="store_true", help="also start the Dagster UI, keep it up")
    parser.add_argument("--port", type=port, default=3000, help="UI port on 127.0.0.1")
    parser.add_argument("--dir", type=Path, help="where the demo project is created")
    parser.add_argument("--serve-port", type=port, default=8000, help="ct serve port on 127.0.0.1")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    reports = run_demo(
        args.example,
        ui_port=args.port if args.ui else None,
        root=args.dir,
        serve_port=args.serve_port,
    )
    return 1 if any(r.outcome.startswith("timed out") for r in reports) else 0


def example_module(example: str) -> Any:
    return importlib.import_module(f"examples.{example}.generator")


def create_project(example: str, root: Path, first_day: date) -> Project:
    """The example's ct.yaml in a fresh folder, its partitions starting on the demo's first day.

    Refuses to delete a folder the demo did not create.
    """
    if root.exists():
        if not (root / MARKER).exists():
            raise ProjectError(f"--dir {root}: exists and was not made by ct demo; choose another")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text(f"created by ct demo from examples/{example}\n")
    text = (EXAMPLES / example / PROJECT_FILE).read_text()
    # Only the first partition changes: the example's own file is the declaration shown.
    pattern = re.compile(r'^(  start: )"?[0-9-]+"?$', re.MULTILINE)
    text, replaced = pattern.subn(rf'\g<1>"{first_day.isoformat()}"', text)
    if replaced != 1:
        raise ValueError(f"examples/{example}/{PROJECT_FILE} must set partitions.start once")
    (root / PROJECT_FILE).write_text(
        f"# Created by `ct demo {example}` from examples/{example}/{PROJECT_FILE}.\n" + text
    )
    project = load_project(root, environ={})
    project.landing_dir.mkdir(parents=True, exist_ok=True)
    return project


def drop_files(
    day: DemoDay, source: Source, module: Any, project: Project, report: DayReport
) -> None:
    """Act as the producer: the day's file, and a broken export beside it if scripted."""
    good = source.day(day.index)
    landing = project.landing_dir
    if day.good_file:
        report.files.append(
            module.write_atomically(good, landing / source.day_name(day.index)).name
        )
    if day.corruption:
        bad_name = f"late_export_{report.partition}.csv"
        module.write_atomically(module.corrupt(good.head(500), day.corruption), landing / bad_name)
        report.files.append(bad_name)


class Observer:
    """Reads the instance the daemon writes to, and narrates run transitions once each."""

    def __init__(self, project: Project, console: Any, started: float) -> None:
        import dagster as dg

        self.instance = dg.DagsterInstance.from_config(str(project.dagster_home))
        self.key = project.namespace.key
        self.console = console
        self.started = started
        self.statuses: dict[str, Any] = {}
        self.day_began = datetime.now(UTC).isoformat()

    def narrate(self) -> None:
        import dagster as dg

        for run in self.instance.get_runs(limit=50):
            if self.statuses.get(run.run_id) == run.status:
                continue
            self.statuses[run.run_id] = run.status
            if not (run.is_finished or run.status == dg.DagsterRunStatus.STARTED):
                continue
            assets = ", ".join(sorted(k.to_user_string() for k in run.asset_selection or []))
            partition = run.tags.get("dagster/partition", "-")
            colour = {"SUCCESS": "green", "FAILURE": "red"}.get(run.status.value, "cyan")
            self.console.print(
                f"  [dim]{time.monotonic() - self.started:5.0f}s[/] run {run.run_id[:8]} "
                f"[{colour}]{run.status.value:<8}[/] {partition}  {assets}"
            )

    def busy(self, partition: str) -> bool:
        return any(
            not run.is_finished and run.tags.get("dagster/partition") == partition
            for run in self.instance.get_runs(limit=50)
        )

    def settled(self, partition: str, history: Any, quiet: float) -> str | None:
        """What the day came to, once nothing more is running or due for it."""
        from ct_assets.ml.records import Decided, ValidatedRows
        from ct_assets.names import (
            CHAMPION_PERFORMANCE,
            FEATURES,
            PRODUCTION_MODEL,
            VALIDATED_BATCHES,
        )
        from ct_assets.reads.observe import latest_metadata, materialization_record

        if self.busy(partition):
            return None
        rolled = [e for e in history() if e["kind"] == "rollback" and e["at"] > self.day_began]
        if rolled:
            move = rolled[-1]
            return f"rolled back v{move['from']} -> v{move['to']}: {move['reason']}"
        production = Decided.from_metadata(
            latest_metadata(self.instance, self.key(PRODUCTION_MODEL), partition)
        )
        if production is not None:
            return production.decision
        validated = ValidatedRows.from_metadata(
            latest_metadata(self.instance, self.key(VALIDATED_BATCHES), partition)
        )
        refused = validated is not None and bool(validated.quarantined_batch_ids)
        if refused and latest_metadata(self.instance, self.key(FEATURES), partition) is None:
            return "stopped: batch quarantined"
        scored = materialization_record(self.instance, self.key(CHAMPION_PERFORMANCE), partition)
        # No retrain was requested for a while after the partition's last run (whose drift the
        # retrain sensor also reads): the policy kept the champion.
        if scored is not None and time.time() - self.last_run_end(partition) > quiet:
            return f"no retrain: {judgement(scored['metadata'])}"
        return None

    def last_run_end(self, partition: str) -> float:
        import dagster as dg

        records = self.instance.get_run_records(
            filters=dg.RunsFilter(tags={"dagster/partition": partition}), limit=20
        )
        return max((r.end_time or time.time() for r in records), default=time.time())

    def await_outcome(
        self, partition: str, servers: Any, timeout: float, history: Any, quiet: float
    ) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.narrate()
            outcome = self.settled(partition, history, quiet)
            if outcome is not None:
                return outcome
            if not servers.alive():
                raise RuntimeError("a Dagster process exited; see the logs/ folder of the demo")
            time.sleep(1.0)
        return f"timed out after {timeout:.0f}s"


def judgement(performance: dict[str, Any]) -> str:
    """The champion's live figures on a partition, in words."""
    from ct_assets.ml.records import LiveScore

    score = LiveScore.from_metadata(performance)
    if score is None or score.champion_version is None:
        return "no champion scored it"
    return (
        f"champion v{score.champion_version} live {score.metric} {score.champion:.3f} "
        f"(holdout {score.baseline:.3f})"
    )


def run_demo(
    example: str = DEFAULT_EXAMPLE,
    ui_port: int | None = None,
    root: Path | None = None,
    script: tuple[DemoDay, ...] | None = None,
    rows_per_day: int | None = None,
    day_timeout: float = 150.0,
    serve_port: int = 8000,
) -> list[DayReport]:
    """Drop the scripted days one by one and report what the daemon made of each."""
    from rich.console import Console

    from ct_assets.cli.demo_loop import (
        demo_registry,
        drop_labels,
        force_bad_champion,
        serve_traffic,
    )
    from ct_assets.cli.processes import dagster_servers
    from ct_assets.cli.status import champions_table, gather, moves_table, table

    # A summary table wide enough to read even when output goes to a file or a CI log.
    console = Console() if Console().is_terminal else Console(width=180)
    started = time.monotonic()
    module = example_module(example)
    script = script or module.SCRIPT
    first_day = datetime.now(UTC).date() - timedelta(days=len(script))
    project = create_project(example, root or REPOSITORY / ".ct" / "demo" / example, first_day)
    source = module.demo_source(first_day, rows_per_day, **getattr(module, "DEMO_SOURCE", {}))
    console.rule(f"[bold]ct demo {example}: continuous training on the embedded default")
    console.print(
        f"project {project.root}  (Dagster instance: SQLite, MLflow: {project.mlflow_dir})"
    )
    reports: list[DayReport] = []
    registry = demo_registry(project)
    # Long enough for the retrain sensor to have looked at a partition's evidence twice.
    quiet = 4 * project.poll_seconds + 12
    with dagster_servers(project, ui_port, serving={project.spec.name: serve_port}) as servers:
        if ui_port is not None:
            console.print(f"Dagster UI: [bold]http://127.0.0.1:{ui_port}[/]")
        console.print(
            "started dagster-daemon and ct serve (http://127.0.0.1:"
            f"{serve_port}/predict); sensors and automation are RUNNING by default"
        )
        observer = Observer(project, console, started)
        for day in script:
            report = DayReport((first_day + timedelta(days=day.index)).isoformat(), day.note)
            reports.append(report)
            console.print(f"\n[bold]{report.partition}[/]: {day.note}")
            observer.day_began = datetime.now(UTC).isoformat()
            if day.force_bad:
                console.print(f"  {force_bad_champion(project, registry, source, day.index)}")
            has_champion = registry.champion_version() is not None
            served = serve_traffic(project, serve_port, source, day.index, has_champion)
            report.served = len(served)
            if served:
                console.print(f"  served {len(served)} requests of the day's events online")
            drop_files(day, source, module, project, report)
            console.print(f"  dropped {', '.join(report.files)} into {project.landing_dir}")
            if served:
                console.print(f"  delayed labels: {drop_labels(project, served, report.partition)}")
            report.outcome = observer.await_outcome(
                report.partition, servers, day_timeout, registry.history, quiet
            )
            console.print(f"  → {report.outcome}")
        observer.narrate()
        console.print()
        status = gather(project)
        console.print(table(status))
        if status["champions"]:
            console.print(champions_table(status))
        if status["moves"]:
            console.print(moves_table(status))
        console.print(f"demo finished in {time.monotonic() - started:.0f}s")
        console.print(f"the project stays in {project.root}: `ct status --project {project.root}`")
        if ui_port is not None:
            console.print(f"The UI stays up at http://127.0.0.1:{ui_port}; Ctrl-C to stop.")
            try:
                while servers.alive():
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    return reports
