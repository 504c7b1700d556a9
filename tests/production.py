"""A ct project in the production environment on services on localhost: Dagster storage in
PostgreSQL, every artifact on S3 (moto's server over HTTP), MLflow as a server process on
PostgreSQL and S3, Redis as the online store. Shared by the production tests and benches."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.definitions import INGEST_JOB, build_definitions
from ct_assets.names import FEATURES, RAW_BATCHES, VALIDATED_BATCHES, Namespace
from ct_assets.project.fleet import Fleet, load_fleet
from ct_assets.project.load import Project
from resources.environments import BACKFILL_TAG, Environment, resolve
from tests.conftest import START, Deployment, generator, write_project
from tests.services import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
BUCKET = "ct-data"


def production_environ(
    postgres_url: str, s3_url: str, tracking_uri: str, bucket: str = BUCKET
) -> dict[str, str]:
    """The variables a production deployment of ct reads (deploy/README.md), for localhost."""
    return {
        "CT_ENV": "production",
        "CT_DAGSTER_POSTGRES_URL": postgres_url.replace("postgresql://", "postgresql+psycopg2://"),
        "CT_DATA_URL": f"s3://{bucket}/data",
        "CT_S3_ENDPOINT_URL": s3_url,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "CT_ONLINE_STORE_URL": REDIS_URL,
        # Each test its own keys in the shared Redis.
        "CT_ONLINE_STORE_PREFIX": f"ct:test:{uuid.uuid4().hex[:8]}:",
    }


def production_project(
    root: Path, example: str = "shop", changes: Mapping[str, Any] | None = None
) -> Project:
    """An example project declared for production, landing on S3."""
    declared = {"environment": "production", "sources": {"landing": f"s3://{BUCKET}/landing"}}
    return write_project(root, example, {**declared, **(changes or {})})


@dataclass
class Production:
    """A production deployment: its environment, instance (PostgreSQL) and definitions."""

    deployment: Deployment
    environment: Environment

    @property
    def instance(self) -> dg.DagsterInstance:
        return self.deployment.instance

    def drop_day(self, index: int, frame: pd.DataFrame | None = None) -> str:
        """A day's file put on the S3 landing prefix, as a producer would."""
        source = self.deployment.source
        frame = source.day(index) if frame is None else frame
        url = f"{self.deployment.project.landing}/{source.day_name(index)}"
        fs = self.environment.data_root().fs  # type: ignore[union-attr]
        fs.pipe_file(url, frame.to_csv(index=False).encode())
        return url


def deploy_production(
    root: Path,
    environ: Mapping[str, str],
    example: str = "shop",
    changes: Mapping[str, Any] | None = None,
    rows_per_day: int = 1500,
) -> Production:
    """The project's production instance prepared (rendered dagster.yaml on PostgreSQL) and its
    definitions built, with `environ` already in the process environment."""
    project = production_project(root / f"{example}-project", example, changes)
    environment = resolve(project, {**os.environ, **environ}).require()
    environment.prepare_instance()
    instance = environment.instance()
    source = generator(example).demo_source(START, rows_per_day, 100)
    deployment = Deployment(project, build_definitions(project), instance, source, example)
    return Production(deployment, environment)


@dataclass
class FleetProduction:
    """Several projects of one fleet in production: one instance (PostgreSQL), one bucket, one
    MLflow server, each project under its name."""

    fleet: Fleet
    environments: dict[str, Environment]
    sources: dict[str, Any]
    instance: dg.DagsterInstance

    @property
    def names(self) -> list[str]:
        return list(self.environments)

    def drop_day(self, name: str, index: int) -> str:
        """A day's file of project `name` put on its own S3 landing prefix."""
        environment, source = self.environments[name], self.sources[name]
        url = f"{environment.project.landing}/{source.day_name(index)}"
        fs = environment.data_root().fs  # type: ignore[union-attr]
        fs.pipe_file(url, source.day(index).to_csv(index=False).encode())
        return url


def deploy_fleet(
    root: Path, environ: Mapping[str, str], examples: tuple[str, ...], rows_per_day: int = 1500
) -> FleetProduction:
    """A fleet folder of the examples (each project named as its example, landing on its own
    S3 prefix), loaded as CT_FLEET loads it, with its shared production instance prepared;
    `environ` (CT_FLEET among it) is already in the process environment."""
    for example in examples:
        production_project(
            root / example, example, {"sources": {"landing": f"s3://{BUCKET}/landing/{example}"}}
        )
    env = {**os.environ, **environ}
    fleet = load_fleet(root, env)
    environments = {p.spec.name: resolve(p, env).require() for p in fleet.projects}
    home = resolve(fleet.instance_project(), env).prepare_instance()
    assert {e.dagster_home for e in environments.values()} == {home}  # one instance for all
    sources = {name: generator(name).demo_source(START, rows_per_day, 100) for name in environments}
    instance = dg.DagsterInstance.from_config(str(home))
    return FleetProduction(fleet, environments, sources, instance)


DATA_STAGES = (RAW_BATCHES, VALIDATED_BATCHES, FEATURES)


def run_fleet_project(
    home: str, name: str, days: list[tuple[str, bool]], start: Any, results: Any
) -> None:
    """One project's days run through the fleet's code location (`ct_assets.definitions` with
    CT_FLEET), in a process of its own: the data stages of each day, every asset of the
    project where the day says so. Released with the other projects' processes at `start`;
    puts (name, partition, succeeded, failures, began, ended) per day."""
    from ct_assets.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    namespace = Namespace.of(name)
    job = definitions.resolve_implicit_global_asset_job_def()
    start.wait(timeout=300)
    with dg.DagsterInstance.from_config(home) as instance:
        for partition, everything in days:
            chosen = namespace.everything() if everything else namespace.selection(*DATA_STAGES)
            began = time.time()
            result = job.execute_in_process(
                partition_key=partition,
                instance=instance,
                asset_selection=list(chosen.resolve(graph)),
                raise_on_error=False,
            )
            failures = [
                str(e.step_failure_data.error)  # type: ignore[union-attr]
                for e in result.all_events
                if e.is_step_failure
            ]
            results.put((name, partition, result.success, failures, began, time.time()))
            if not result.success:
                return


# Sensors that would start runs of their own while a backfill replays (files in the landing,
# automation reacting to new partitions, a champion overdue): stopped for the backfill alone.
REACTING_SENSORS = (
    "file_drop_sensor",
    "ct_automation",
    "ct_training_automation",
    "model_freshness_sensor",
    "retrain_sensor",
)


@dataclass
class BackfillRun:
    partition: str
    status: str
    start: float
    end: float


@dataclass
class BackfillOutcome:
    backfill_id: str
    wall_seconds: float
    runs: list[BackfillRun]

    @property
    def max_concurrent(self) -> int:
        """The most runs of the backfill that were ever in progress at the same moment."""
        edges = sorted([(r.start, 1) for r in self.runs] + [(r.end, -1) for r in self.runs])
        most = current = 0
        for _, step in edges:
            current += step
            most = max(most, current)
        return most


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run_backfill(
    environment: Environment, partitions: list[str], timeout: float = 900.0
) -> BackfillOutcome:
    """The `ingest` job backfilled over `partitions` by the real daemon of the project's
    instance (its run queue and limits), with the reacting sensors stopped; waits for every run
    to finish and returns when each ran."""
    home = environment.prepare_instance()
    env = environment.child_env({"PYTHONWARNINGS": "ignore"})
    project = environment.project
    logs = project.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    code = ["-m", "ct_assets.definitions"]
    with (logs / "backfill-grpc.log").open("ab") as log:
        server = subprocess.Popen(
            [_bin("dagster"), "api", "grpc", *code, "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            cwd=project.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    daemon: subprocess.Popen[bytes] | None = None
    try:
        target = ["--grpc-host", "127.0.0.1", "--grpc-port", str(port)]
        _wait_for_port(port, 60)
        for sensor in REACTING_SENSORS:
            subprocess.run(
                [_bin("dagster"), "sensor", "stop", sensor, *target],
                env=env,
                cwd=project.root,
                check=True,
                capture_output=True,
            )
        with (logs / "backfill-daemon.log").open("ab") as log:
            daemon = subprocess.Popen(
                [_bin("dagster-daemon"), "run", *target],
                env=env,
                cwd=project.root,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        keys = ["--partitions", ",".join(partitions)]
        began = time.monotonic()
        launched = subprocess.run(
            [_bin("dagster"), "job", "backfill", "-j", INGEST_JOB, *target, "--noprompt", *keys],
            env=env,
            cwd=project.root,
            check=True,
            capture_output=True,
            text=True,
        )
        found = re.search(r"Launched backfill job `([^`]+)`", launched.stdout)
        assert found is not None, launched.stdout + launched.stderr
        backfill_id = found.group(1)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = _wait_for_backfill(instance, backfill_id, len(partitions), began + timeout)
            wall = time.monotonic() - began
        return BackfillOutcome(backfill_id, wall, runs)
    finally:
        for proc in (daemon, server):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
        for proc in (daemon, server):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"no code server on port {port} after {seconds:.0f} s")


def _wait_for_backfill(
    instance: dg.DagsterInstance, backfill_id: str, expected: int, deadline: float
) -> list[BackfillRun]:
    done = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
    while True:
        records = instance.get_run_records(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))
        finished = [r for r in records if r.dagster_run.status in done]
        if len(finished) >= expected:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"backfill {backfill_id}: {len(finished)} of {expected} runs finished in time"
            )
        time.sleep(1.0)
    return [
        BackfillRun(
            partition=r.dagster_run.tags.get("dagster/partition", ""),
            status=r.dagster_run.status.value,
            start=r.start_time or 0.0,
            end=r.end_time or 0.0,
        )
        for r in records
    ]


def register_as_a_daemon(root: str, start: Any, results: Any) -> None:
    """What one daemon does with a new file in the landing: its file-drop sensor sees it (a
    cursor of its own: it has never seen the file) and the run it requests lands the batch.
    Run in a process of its own, released with the other daemon at `start`."""
    from ct_assets.names import RAW_BATCHES
    from ct_assets.project.load import load_project

    project = load_project(root)
    environment = resolve(project)
    defs = build_definitions(project)
    sensor = defs.resolve_sensor_def("file_drop_sensor")
    job = defs.resolve_implicit_global_asset_job_def()
    with environment.instance() as instance:
        resources = {"file_drop": (defs.resources or {})["file_drop"]}
        with dg.build_sensor_context(
            instance=instance, definitions=defs, resources=resources
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult), result
        start.wait(timeout=60)
        for request in result.run_requests or []:
            run = job.execute_in_process(
                partition_key=request.partition_key,
                instance=instance,
                asset_selection=[dg.AssetKey(RAW_BATCHES)],
                tags=request.tags,
            )
            recorded = run.asset_materializations_for_node(RAW_BATCHES)[0].metadata
            results.put((request.partition_key, str(recorded["new_batch_ids"].value)))
