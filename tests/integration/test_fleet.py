"""A fleet as users run one: two projects of different tasks in one folder, one `ct up --fleet`
(the real dagster-daemon, sensors and automation), files dropped into both landing folders at
once; each project reaches its own champion, and nothing of one lands among the other's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ct_assets.cli.processes import processes_with
from ct_assets.names import (
    FEATURES,
    ONLINE_FEATURES,
    PRODUCTION_MODEL,
    PROMOTION_POOL,
    RAW_BATCHES,
    STAGES,
    VALIDATED_BATCHES,
)
from ct_assets.project.fleet import load_fleet
from ct_assets.reads.observe import latest_metadata
from resources.environments import resolve
from tests.conftest import START, generator
from tests.helpers.fleet import write_fleet
from tests.services import REDIS_URL, unavailable

CT = str(Path(sys.executable).with_name("ct"))
ROWS_PER_DAY = 800
# How long both projects may take, from the daemon's start to both champions.
CHAMPIONS_WITHIN = 360.0


@pytest.fixture
def online_prefix() -> Iterator[str]:
    """A Redis key prefix of the test's own (the online store's keys are deleted after)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    prefix = f"ct:test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def ct(*line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CT, *line], env=env, capture_output=True, text=True, timeout=120)


def wait_for(condition: Callable[[], bool], timeout: float, what: str, up: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert up.poll() is None, f"ct up ended while waiting for {what}"
        time.sleep(1.0)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def code_server_started(root: Path) -> bool:
    """The daemon's code server, loading the fleet, is up."""
    for pid in processes_with("CT_FLEET", str(root)):
        try:
            if b" api grpc" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                return True
        except OSError:
            continue
    return False


@pytest.mark.integration
def test_one_daemon_trains_two_projects_side_by_side_each_in_its_own_namespace(
    tmp_path: Path, online_prefix: str
) -> None:
    # One family each: what is tested is where things land, not which model wins.
    one_family = {"training": {"families": ["lightgbm"]}}
    root = write_fleet(tmp_path / "fleet", {"shop": one_family, "energy": one_family})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CT_") and k != "DAGSTER_HOME"}
    # Online features in Redis, where projects share one server and keep apart by prefix.
    env |= {"CT_ONLINE_STORE_URL": REDIS_URL, "CT_ONLINE_STORE_PREFIX": online_prefix}
    fleet = load_fleet(root, env)
    projects = {p.spec.name: p for p in fleet.projects}
    assert set(projects) == {"shop", "energy"}
    sources = {name: generator(name).demo_source(START, ROWS_PER_DAY, 100) for name in projects}
    partition = START.isoformat()
    started = time.monotonic()
    up = subprocess.Popen(
        [CT, "up", "--fleet", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: code_server_started(root), 120, "the code server", up)
        # Both fed at the same time.
        for name, project in projects.items():
            source = sources[name]
            landing = project.landing_dir / source.day_name(0)
            generator(name).write_atomically(source.day(0), landing)
        registries = {name: resolve(p, env).registry() for name, p in projects.items()}
        with dg.DagsterInstance.from_config(str(fleet.dagster_home)) as instance:

            def decided() -> bool:
                return all(
                    latest_metadata(instance, p.namespace.key(PRODUCTION_MODEL), partition)
                    for p in projects.values()
                )

            wait_for(decided, CHAMPIONS_WITHIN, "a decision in both projects", up)
            shop = projects["shop"].namespace
            wait_for(
                lambda: latest_metadata(instance, shop.key(ONLINE_FEATURES), partition) is not None,
                60,
                "shop's online features",
                up,
            )
            print(f"both champions after {time.monotonic() - started:.0f} s")
            assert_apart(instance, projects, partition)
        champions = {name: r.champion_version() for name, r in registries.items()}
        assert_own_registries(registries, champions)
        assert_online_store_apart(online_prefix)

        status = ct("status", "--fleet", str(root), "--json", env=env)
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)
        assert shown["fleet"] == str(root) and shown["daemon"]["running"] is True
        rows = {row["project"]: row for row in shown["projects"]}
        assert set(rows) == {"shop", "energy"}
        assert (rows["shop"]["task"], rows["energy"]["task"]) == ("binary", "regression")
        for name, row in rows.items():
            assert row["champion"] == champions[name], name
            assert row["last_decision"]["decision"] == "promote", row
            assert row["last_decision"]["partition"] == partition
            assert row["holdout"] is not None and row["newest_partition"] == partition
            assert row["daemon_running"] is True
        # One project of the fleet, chosen by name, reads its own registry.
        models = ct("models", "--fleet", str(root), "--project", "energy", "--json", env=env)
        assert models.returncode == 0, models.stderr
        assert json.loads(models.stdout)["registered_model"] == "energy"
        assert json.loads(models.stdout)["champion"] == champions["energy"]
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    assert output.startswith(f"fleet {root}: 2 projects"), output
    assert processes_with("CT_FLEET", str(root)) == []


def assert_apart(instance: dg.DagsterInstance, projects: dict[str, Any], partition: str) -> None:
    """Every key the daemon wrote is under one project's prefix, every stage of each project
    under its own; every run stayed within one project; each promotion took its own pool."""
    keys = instance.get_asset_keys()
    assert {key.path[0] for key in keys} == set(projects), keys
    for name, project in projects.items():
        mine = {key for key in keys if key.path[0] == name}
        for stage in STAGES:
            assert project.namespace.key(stage) in mine, (name, stage)
            assert latest_metadata(instance, project.namespace.key(stage), partition), stage
        # Its own file alone went through its ingest.
        for stage in (RAW_BATCHES, VALIDATED_BATCHES, FEATURES):
            done = instance.get_materialized_partitions(project.namespace.key(stage))
            assert done == {partition}, (name, stage)
    for run in instance.get_runs():
        touched = {key.path[0] for key in run.asset_selection or []}
        assert len(touched) <= 1, (run.run_id, run.asset_selection)
    pools = set(instance.event_log_storage.get_concurrency_keys())
    assert pools == {f"{name}/{PROMOTION_POOL}" for name in projects}, pools
    for name in projects:
        # A slot of a project's pool is only ever claimed or awaited by that project's runs.
        info = instance.event_log_storage.get_concurrency_info(f"{name}/{PROMOTION_POOL}")
        assert info.slot_count == 1
        for run_id in info.active_run_ids | info.pending_run_ids:
            run = instance.get_run_by_id(run_id)
            assert run is not None and {k.path[0] for k in run.asset_selection or []} == {name}


def assert_own_registries(registries: dict[str, Any], champions: dict[str, Any]) -> None:
    """Each project's MLflow store holds its registered model alone, its champion alias on a
    version it trained for its own task."""
    tasks = {"shop": "binary", "energy": "regression"}
    for name, registry in registries.items():
        assert champions[name] is not None, name
        models = [m.name for m in registry.client().search_registered_models()]
        assert models == [name], models
        tags = registry.version_tags(champions[name])
        assert tags["ct.task"] == tasks[name] and tags["ct.partition"] == START.isoformat()


def assert_online_store_apart(prefix: str) -> None:
    """The shop's online vectors are under its own prefix (energy declares no entity)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [key.decode() for key in client.scan_iter(f"{prefix}*")]
    finally:
        client.close()
    assert keys, "no online feature vector was written"
    assert all(key.startswith(f"{prefix}shop:") for key in keys), keys[:5]
