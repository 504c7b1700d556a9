"""The production environment end to end on real services on localhost: the same asset graph with
Dagster storage in PostgreSQL, every artifact on S3 through moto's server over HTTP, MLflow as a
server process on PostgreSQL with S3 artifacts, Redis as the online store."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from ct_assets.ml.tags import TASK_TAG, TRAINING_PARTITIONS_TAG
from ct_assets.names import FEATURES, PRODUCTION_MODEL, RAW_BATCHES
from ct_assets.reads.observe import latest_metadata
from resources.storage import Delivery
from tests.conftest import START
from tests.integration.test_demo import wait_for
from tests.production import (
    BUCKET,
    REDIS_URL,
    FleetProduction,
    Production,
    deploy_fleet,
    deploy_production,
    production_environ,
    register_as_a_daemon,
    run_backfill,
    run_fleet_project,
)
from tests.services import MLFLOW_FAIL_FAST, MlflowServer, S3Server, unavailable

pytestmark = pytest.mark.integration
DATA_STAGES = 'key:"raw_batches" or key:"validated_batches" or key:"features"'


def require_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)


@pytest.fixture
def production(
    tmp_path: Path,
    s3_server: S3Server,
    postgres_databases: Callable[[], str],
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Production]:
    require_redis()
    s3_server.make_bucket(BUCKET)
    environ = production_environ(postgres_databases(), s3_server.url, mlflow_server.tracking_uri)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    deployed = deploy_production(tmp_path, environ)
    try:
        yield deployed
    finally:
        deployed.instance.dispose()


def test_landing_on_s3_ends_with_a_champion_on_the_mlflow_server(
    production: Production, s3_server: S3Server, mlflow_server: MlflowServer
) -> None:
    deployment = production.deployment
    assert type(production.instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(production.instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    partitions = []
    for index in range(3):
        production.drop_day(index)
        partition = deployment.partition(index)
        selection = "*" if index == 2 else DATA_STAGES
        result = deployment.materialize(partition, selection)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        partitions.append(partition)

    with dg.build_resources({"mlflow": deployment.resource("mlflow")}) as resources:
        registry = resources.mlflow
        assert registry.tracking_uri == mlflow_server.tracking_uri
        champion = registry.champion_version()
        assert champion is not None
        assert registry.version_tags(champion)["ct.training_partitions"].split(",") == partitions
    # Nothing was written on the local disk of the project: data on S3, runs in PostgreSQL.
    assert not deployment.project.data_dir.exists()
    keys = s3_server.keys(BUCKET)
    for partition in partitions:
        raw = latest_metadata(production.instance, RAW_BATCHES, partition)
        assert raw is not None
        (batch,) = str(raw["batch_ids"]).split(", ")
        assert f"data/raw/batches/{batch}/manifest.json" in keys
        assert f"data/features/{partition}.parquet" in keys
    assert f"data/production_model/{partitions[-1]}.json" in keys
    # Day 1's 7-day windows read day 0's validated events back from S3.
    day1 = pd.read_parquet(
        s3_server.filesystem().open(f"{BUCKET}/data/features/{partitions[1]}.parquet")
    )
    assert (day1["amount_count_7d"] > day1["amount_count_1d"]).any()
    # The model's artifacts went through the server to its S3 artifact store.
    assert any(k.startswith("mlflow/") and k.endswith("MLmodel") for k in s3_server.keys("mlflow"))


def test_a_rendered_production_instance_limits_runs_from_ct_yaml(production: Production) -> None:
    config = production.environment.instance_config()
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "CT_DAGSTER_POSTGRES_URL"}}}
    rendered = (production.environment.dagster_home / "dagster.yaml").read_text()
    assert "CT_DAGSTER_POSTGRES_URL" in rendered
    assert production.environment.dagster_home != production.deployment.project.dagster_home
    coordinator = production.instance.run_coordinator
    assert isinstance(coordinator, dg.QueuedRunCoordinator)


# 90 run processes on two cores, each loading the code location: 485 s here before bytecode
# was compiled at install, more than the suite's default limit on a slower machine.
@pytest.mark.timeout(1500)
def test_a_90_partition_backfill_never_runs_more_than_its_limit_and_loses_nothing(
    tmp_path: Path,
    s3_server: S3Server,
    postgres_databases: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_server.make_bucket(BUCKET)
    # The ingest job needs no model: MLflow's address is declared and nobody answers there. The
    # sensors still running beside the backfill (rollback) ask it and give up in a second.
    environ = production_environ(postgres_databases(), s3_server.url, "http://127.0.0.1:9")
    for name, value in {**environ, **MLFLOW_FAIL_FAST}.items():
        monkeypatch.setenv(name, value)
    limit = 3
    deployed = deploy_production(
        tmp_path,
        environ,
        changes={"runs": {"max_concurrent": 8, "backfills": limit}},
        rows_per_day=100,
    )
    days = range(int(os.environ.get("CT_TEST_BACKFILL_DAYS", "90")))
    for index in days:
        deployed.drop_day(index)
    partitions = [deployed.deployment.partition(i) for i in days]

    outcome = run_backfill(deployed.environment, partitions, timeout=1200)

    assert len(outcome.runs) == len(partitions)
    assert {r.status for r in outcome.runs} == {"SUCCESS"}
    assert sorted(r.partition for r in outcome.runs) == partitions
    assert 1 < outcome.max_concurrent <= limit
    with deployed.environment.instance() as instance:
        for asset in (RAW_BATCHES, FEATURES):
            events = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
            per_partition = Counter(e.partition_key for e in events)
            assert sorted(per_partition) == partitions, asset
            assert set(per_partition.values()) == {1}, asset
    keys = s3_server.keys(BUCKET, "data/features/")
    assert keys == [f"data/features/{p}.parquet" for p in partitions]


def test_two_daemons_racing_on_one_new_s3_object_register_it_once(
    production: Production, s3_server: S3Server
) -> None:
    deployment = production.deployment
    production.drop_day(0)
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(2), spawn.Queue()
    daemons = [
        spawn.Process(target=register_as_a_daemon, args=(str(deployment.root), start, results))
        for _ in range(2)
    ]
    for daemon in daemons:
        daemon.start()
    for daemon in daemons:
        daemon.join(timeout=300)
        assert daemon.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in daemons)
    partition = deployment.partition(0)
    # Both daemons ran the partition; exactly one of them registered the batch.
    assert [p for p, _ in outcomes] == [partition, partition]
    registered = [ids for _, ids in outcomes if ids != "none"]
    assert len(registered) == 1
    manifests = [
        k for k in s3_server.keys(BUCKET, "data/raw/batches/") if k.endswith("manifest.json")
    ]
    assert manifests == [f"data/raw/batches/{registered[0]}/manifest.json"]
    with dg.build_resources({"batch_store": deployment.resource("batch_store")}) as resources:
        assert [b["batch_id"] for b in resources.batch_store.batches(partition)] == registered


def test_writers_racing_on_one_batch_leave_one_registration(production: Production) -> None:
    """The same bytes from eight threads at once: one manifest, one `is_new`."""
    data = production.deployment.source.day(0).to_csv(index=False).encode()
    delivery = Delivery(data, "day0.csv", "file_drop", "landing/day0.csv", datetime.now(UTC))
    with dg.build_resources({"batch_store": production.deployment.resource("batch_store")}) as r:
        store = r.batch_store
        start = threading.Barrier(8)

        def ingest() -> bool:
            start.wait()
            return store.ingest(delivery, ["2026-01-01"])[1]

        with ThreadPoolExecutor(8) as pool:
            fresh = list(pool.map(lambda _: ingest(), range(8)))
        assert fresh.count(True) == 1
        assert len(store.batches("2026-01-01")) == 1


def champion_of(production: Production) -> str | None:
    with dg.build_resources({"mlflow": production.deployment.resource("mlflow")}) as resources:
        champion: str | None = resources.mlflow.champion_version()
        return champion


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    return " ".join(
        str(e.step_failure_data.error)
        for e in result.all_events
        if e.is_step_failure  # type: ignore[union-attr]
    )


def test_s3_or_mlflow_down_mid_run_fails_clearly_retries_and_keeps_the_champion(
    production: Production, s3_server: S3Server, mlflow_server: MlflowServer
) -> None:
    deployment = production.deployment
    for index in range(3):
        production.drop_day(index)
        selection = "*" if index == 2 else DATA_STAGES
        assert deployment.materialize(deployment.partition(index), selection).success
    champion = champion_of(production)
    assert champion is not None
    production.drop_day(3)
    partition = deployment.partition(3)

    # The MLflow server goes away: the data stages run, the first step that needs the registry
    # fails, is retried, fails again naming the server, and the champion stays where it was.
    with mlflow_server.outage():
        result = deployment.materialize(partition)
        assert not result.success
        retried = {e.step_key for e in result.all_events if e.is_step_up_for_retry}
        assert retried, "a failed step was not retried"
        assert mlflow_server.tracking_uri.removeprefix("http://") in failure_text(result)
        assert {e.step_key for e in result.all_events if e.is_step_success} >= {
            "raw_batches",
            "validated_batches",
            "features",
        }
    assert champion_of(production) == champion

    # S3 goes away in the middle of a run, once raw_batches is stored: the next step cannot
    # read it, is retried, and fails naming the endpoint; nothing downstream runs.
    production.drop_day(4)
    later = deployment.partition(4)

    def outage_after_raw() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if latest_metadata(production.instance, RAW_BATCHES, later) is not None:
                s3_server.down()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=outage_after_raw)
    watcher.start()
    try:
        result = deployment.materialize(later)
    finally:
        watcher.join()
        s3_server.up()
    assert not result.success
    assert {e.step_key for e in result.all_events if e.is_step_up_for_retry}
    assert s3_server.url.removeprefix("http://") in failure_text(result)
    assert "production_model" not in {e.step_key for e in result.all_events if e.is_step_success}
    assert champion_of(production) == champion

    # Both back: the same partition runs through.
    assert deployment.materialize(later).success


def test_ct_up_env_production_runs_the_platform_on_the_local_services(
    tmp_path: Path,
    s3_server: S3Server,
    postgres_databases: Callable[[], str],
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production path without a cluster: `ct up --env production` on a project whose
    ct.yaml says local, against PostgreSQL, S3 and an MLflow server on localhost."""
    s3_server.make_bucket(BUCKET)
    environ = production_environ(postgres_databases(), s3_server.url, mlflow_server.tracking_uri)
    environ.pop("CT_ENV")  # chosen on the command line
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CT_ENV", raising=False)
    deployed = deploy_production(tmp_path, {**environ, "CT_ENV": "production"}, rows_per_day=300)
    project = deployed.deployment.project
    local = yaml.safe_load(project.file.read_text())
    project.file.write_text(yaml.safe_dump({**local, "environment": "local"}, sort_keys=False))
    deployed.drop_day(0)
    partition = deployed.deployment.partition(0)
    command = ["up", "--env", "production", "--project", str(project.root)]
    up = subprocess.Popen(
        [str(Path(sys.executable).with_name("ct")), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The file-drop sensor lands the S3 object; automation takes it on to features.
        with deployed.environment.instance() as instance:
            assert wait_for(lambda: latest_metadata(instance, FEATURES, partition), 240), (
                "features never materialized; see " + str(project.home / "logs")
            )
            runs = instance.get_run_records()
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    assert "environment production" in output and f"s3://{BUCKET}/data" in output
    assert not project.data_dir.exists()
    assert any(k.startswith("data/raw/batches/") for k in s3_server.keys(BUCKET))
    # Runs still going when ct up stopped are the automation's next stages; none failed.
    assert runs and not [r for r in runs if r.dagster_run.status.value == "FAILURE"]


# A binary task and a regression: projects of one fleet share nothing but the release.
FLEET = ("shop", "energy")


@pytest.fixture
def fleet(
    tmp_path: Path,
    s3_server: S3Server,
    postgres_databases: Callable[[], str],
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FleetProduction]:
    """Two projects in one fleet folder, as the release runs them: CT_FLEET names the folder;
    one PostgreSQL database, one bucket, one MLflow server, one Redis for both."""
    require_redis()
    s3_server.make_bucket(BUCKET)
    environ = production_environ(postgres_databases(), s3_server.url, mlflow_server.tracking_uri)
    environ["CT_FLEET"] = str(tmp_path / "projects")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # Each would be laid over both projects' ct.yaml (deploy/README.md): never in a fleet's.
    for variable in ("CT_LANDING_URL", "CT_REGISTERED_MODEL", "CT_PROJECT", "DAGSTER_HOME"):
        monkeypatch.delenv(variable, raising=False)
    deployed = deploy_fleet(tmp_path / "projects", environ, FLEET, rows_per_day=1000)
    try:
        yield deployed
    finally:
        deployed.instance.dispose()


@pytest.mark.timeout(900)
def test_two_projects_of_a_fleet_run_at_once_each_under_its_name_on_shared_services(
    fleet: FleetProduction, s3_server: S3Server, mlflow_server: MlflowServer
) -> None:
    """Two projects, a binary task and a regression, land, train and promote at the same time
    through one code location (CT_FLEET) on one PostgreSQL instance, one bucket and one MLflow
    server: each reaches a champion in its own registered model, its data is under its own
    prefix, its online features under its own keys, and nothing of one is under the other's
    name."""
    import redis
    from mlflow import MlflowClient

    partitions = [(START + timedelta(days=index)).isoformat() for index in range(3)]
    days = [(partition, index == 2) for index, partition in enumerate(partitions)]
    for name in fleet.names:
        for index in range(len(partitions)):
            fleet.drop_day(name, index)
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(len(fleet.names)), spawn.Queue()
    home = str(fleet.instance.root_directory)
    workers = [
        spawn.Process(target=run_fleet_project, args=(home, name, days, start, results))
        for name in fleet.names
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=780)
        assert worker.exitcode == 0
    outcomes = [results.get(timeout=5) for _ in range(len(fleet.names) * len(days))]
    assert [o[:4] for o in outcomes if not o[2]] == []
    # At once: each project's runs began before the other's had all ended.
    spans = [
        (min(o[4] for o in outcomes if o[0] == n), max(o[5] for o in outcomes if o[0] == n))
        for n in fleet.names
    ]
    (began, ended), (other_began, other_ended) = spans
    assert began < other_ended and other_began < ended, spans

    # Each project its own registered model, its own champion alias, trained on its own task.
    # Named as the registry too: MLflow's default registry is the process's last one set (an
    # earlier test's server, gone).
    uri = mlflow_server.tracking_uri
    client = MlflowClient(uri, registry_uri=uri)
    champions = {}
    for name, environment in fleet.environments.items():
        with dg.build_resources({"mlflow": environment.registry()}) as resources:
            registry = resources.mlflow
            assert registry.registered_model == name
            champion = registry.champion_version()
            assert champion is not None, name
            tags = registry.version_tags(champion)
        assert tags[TRAINING_PARTITIONS_TAG].split(",") == partitions
        assert tags[TASK_TAG] == environment.project.spec.task.type
        assert client.get_registered_model(name).aliases == {"champion": champion}
        champions[name] = champion
    assert {v.name for v in client.search_model_versions()} == set(fleet.names)

    # Every stored artifact under its project's prefix of the one CT_DATA_URL, none on the
    # projects' disks (the release's may be read-only); each landing its own.
    assert not [p.data_dir for p in fleet.fleet.projects if p.data_dir.exists()]
    stored = s3_server.keys(BUCKET, "data/")
    assert {key.split("/")[1] for key in stored} == set(fleet.names)
    assert {key.split("/")[1] for key in s3_server.keys(BUCKET, "landing/")} == set(fleet.names)
    for name in fleet.names:
        batches = f"data/{name}/raw/batches/"
        manifests = [k for k in stored if k.startswith(batches) and k.endswith("manifest.json")]
        assert len(manifests) == len(partitions), name
        for partition in partitions:
            assert f"data/{name}/features/{partition}.parquet" in stored
        assert f"data/{name}/{PRODUCTION_MODEL}/{partitions[-1]}.json" in stored

    # One instance: every materialized key under one project's name, each project's decision
    # among them; the promotions went through one pool per project, each given one slot.
    keys = fleet.instance.get_asset_keys()
    assert {key.path[0] for key in keys} == set(fleet.names)
    storage = fleet.instance.event_log_storage
    assert storage.get_concurrency_keys() == {f"{name}/promotion" for name in fleet.names}
    for name in fleet.names:
        assert dg.AssetKey([name, PRODUCTION_MODEL]) in keys
        assert dg.AssetKey([name, RAW_BATCHES]) in keys
        assert storage.get_concurrency_info(f"{name}/promotion").slot_count == 1, name

    # The online store: each project's entities under its own keys of the shared prefix.
    prefix = os.environ["CT_ONLINE_STORE_PREFIX"]
    online = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}*")]
    assert online, "no online features were written"
    assert all(k.removeprefix(prefix).split(":", 1)[0] in fleet.names for k in online), online
