"""Fault schedules against the real daemon: processes killed by pid at chosen moments, then a
restart. Each scenario states the invariant it holds.

The moments are named crash points (ct_assets/crash.py): `CT_PAUSE_AT=<point>` stops the
process that reaches it and writes its pid to `CT_CRASH_ONCE`, so the test can kill exactly
what a crash would kill at that moment; later processes pass the point (the file exists).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from ct_assets.cli.ownership import TAG_VARIABLE, instance_processes, remote_daemon
from ct_assets.cli.processes import _take_over
from ct_assets.crash import CRASH_ONCE, PAUSE_AT
from ct_assets.names import CANDIDATE_MODELS, PRODUCTION_MODEL
from ct_assets.project.load import Project, ProjectError
from resources.mlflow_registry import MlflowRegistry
from resources.run_launcher import is_worker, worker_pid
from tests.conftest import START, generator, write_project

CT = str(Path(sys.executable).with_name("ct"))


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.5)


def of_instance(project: Project, word: str) -> list[int]:
    """Pids of the instance's processes whose command holds `word`."""
    return [p.pid for p in instance_processes(project.dagster_home) if word in p.command]


@contextmanager
def ct_up(project: Project, log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`ct up` as a user starts it, in a session of its own (the test's signals are its own)."""
    with log.open("ab") as out:
        up = subprocess.Popen(
            [CT, "up", "--project", str(project.root)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )
    try:
        yield up
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()


def code_server_up(project: Project) -> bool:
    """The daemon has started the code server it loads the project in."""
    for pid in of_instance(project, "python"):
        try:
            if b" api grpc" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                return True
        except OSError:
            continue
    return False


@pytest.mark.integration
def test_kill_9_of_ct_up_leaves_nothing_and_the_next_runs_one_daemon(tmp_path: Path) -> None:
    """Invariant: whatever way `ct up` ends (here SIGKILL: no handler of its own runs), no
    process of its instance survives it; while it lives a second `ct up` refuses, naming it;
    after it, the next `ct up` runs exactly one daemon."""
    project = write_project(tmp_path / "project", "energy")
    log = tmp_path / "up.log"
    with ct_up(project, log) as first:
        wait_for(lambda: code_server_up(project), 120, "the daemon's code server")
        second = subprocess.run(
            [CT, "up", "--project", str(project.root)], capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 1
        assert f"a daemon already runs on instance {project.dagster_home}" in second.stderr
        assert f"pid {first.pid}" in second.stderr and len(second.stderr.splitlines()) == 1
        status = subprocess.run(
            [CT, "status", "--project", str(project.root)], capture_output=True, text=True
        )
        assert f"daemon: running, pid {first.pid}" in status.stdout, status.stdout + status.stderr

        first.kill()
        first.wait()
        wait_for(lambda: not instance_processes(project.dagster_home), 30, "no process left")

    with ct_up(project, log) as again:
        wait_for(lambda: code_server_up(project), 120, "the second daemon's code server")
        assert len(of_instance(project, "dagster-daemon")) == 1
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=60) == 0
    assert instance_processes(project.dagster_home) == []
    status = subprocess.run(
        [CT, "status", "--project", str(project.root)], capture_output=True, text=True
    )
    assert "daemon: not running" in status.stdout, log.read_text()


def test_a_daemon_nobody_owns_is_refused_and_a_dead_owners_leftovers_are_stopped(
    tmp_path: Path,
) -> None:
    """Invariant: ct up never runs beside a daemon it did not start (it names the process and
    refuses), and takes over from a dead `ct up` only after stopping what that one left."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    fake = tmp_path / "bin" / "dagster-daemon"
    fake.parent.mkdir()
    fake.write_text("import time\ntime.sleep(120)\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop(TAG_VARIABLE, None)
    stranger = subprocess.Popen([sys.executable, str(fake), "run"], env=env)
    try:
        wait_for(lambda: instance_processes(home), 10, "the stranger")
        with pytest.raises(ProjectError, match=rf"not started by ct up .*pid {stranger.pid}"):
            _take_over(home)
        assert stranger.poll() is None  # refused, not killed: it is not ct's
    finally:
        stranger.kill()
        stranger.wait()

    left = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        env={**env, TAG_VARIABLE: "a-dead-ct-up"},
    )
    try:
        wait_for(lambda: instance_processes(home), 10, "the leftover")
        _take_over(home)
        assert left.wait(timeout=30) is not None
        assert instance_processes(home) == []
    finally:
        if left.poll() is None:
            left.kill()


def runs_of(instance: dg.DagsterInstance, asset: str) -> list[dg.DagsterRun]:
    return [
        r
        for r in instance.get_runs()
        if r.asset_selection and dg.AssetKey(asset) in r.asset_selection
    ]


def materializations(instance: dg.DagsterInstance, asset: str, partition: str) -> int:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]),
        limit=100,
    ).records
    return len(records)


@pytest.mark.integration
def test_a_run_killed_with_everything_is_failed_and_run_again_once(tmp_path: Path) -> None:
    """The issue's case: the machine dies during a training run (its worker, its code server
    and ct up killed at once, so nothing records the run's end). Invariant: after `ct up`
    again, run monitoring fails that run within a bounded time, run retries run it again once,
    and the partition is decided exactly once, by a gated champion."""
    project = write_project(
        tmp_path / "project", "shop", {"training": {"families": ["lightgbm"], "window": 1}}
    )
    project.landing_dir.mkdir(parents=True, exist_ok=True)
    module = generator("shop")
    source = module.demo_source(START, 600, 100)
    partition = START.isoformat()
    paused = tmp_path / "paused.pid"
    log = tmp_path / "up.log"

    with ct_up(project, log, **{PAUSE_AT: "training.fit", CRASH_ONCE: str(paused)}) as up:
        module.write_atomically(source.day(0), project.landing_dir / source.day_name(0))
        wait_for(paused.exists, 240, "a training run to reach training.fit")
        time.sleep(0.5)  # the pid is written just before the pause
        worker = int(paused.read_text())
        parent = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[-1].split()[1])
        # All at once, as a lost machine: nobody is left to say the run ended.
        for pid in (worker, parent, up.pid):
            os.kill(pid, signal.SIGKILL)
        up.wait()
        wait_for(lambda: not instance_processes(project.dagster_home), 30, "no process left")

    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        (killed,) = [
            r
            for r in runs_of(instance, CANDIDATE_MODELS)
            if r.status == dg.DagsterRunStatus.STARTED
        ]

    with (
        ct_up(project, log),
        dg.DagsterInstance.from_config(str(project.dagster_home)) as instance,
    ):

        def decided() -> bool:
            return materializations(instance, PRODUCTION_MODEL, partition) > 0

        began = time.monotonic()
        wait_for(
            lambda: (
                instance.get_run_by_id(killed.run_id).status  # type: ignore[union-attr]
                == dg.DagsterRunStatus.FAILURE
            ),
            120,
            "run monitoring to fail the dead run",
        )
        noticed = time.monotonic() - began
        wait_for(decided, 300, "the retried run's decision")
        retries = [r for r in instance.get_runs() if r.parent_run_id == killed.run_id]
        assert len(retries) == 1, [r.run_id for r in retries]
        assert retries[0].tags.get("dagster/retry_number") == "1"
        # Let automation settle: nothing decides the partition a second time.
        time.sleep(10)
        assert materializations(instance, PRODUCTION_MODEL, partition) == 1
        assert materializations(instance, CANDIDATE_MODELS, partition) == 1
    assert noticed < 90, f"the dead run was failed {noticed:.0f} s after the restart"

    registry = MlflowRegistry(
        tracking_uri=f"sqlite:///{project.mlflow_dir / 'mlflow.db'}",
        artifact_root=str(project.mlflow_dir / "artifacts"),
        registered_model=project.spec.model_name,
    )
    champion = registry.champion_version()
    assert champion is not None
    # The first partition's one decision: a single move of the alias, to the champion.
    moves = registry.history()
    assert [m["to"] for m in moves] == [champion], moves
    assert registry.version_tags(champion).get("ct.partition") == partition


def test_a_daemon_on_another_machine_is_told_by_its_advancing_heartbeats() -> None:
    """Invariant: on a shared instance, a daemon /proc cannot see is alive exactly when its
    heartbeat moves within an interval; a stale or still heartbeat (a dead daemon) lets ct up
    take over."""
    clock = iter(range(1_000, 10_000, 10))

    def now() -> float:
        return float(next(clock))

    readings = iter([{"a": 995.0}, {"a": 995.0}, {"a": 1_025.0}])
    assert remote_daemon(lambda: next(readings), now) == "a"
    assert remote_daemon(lambda: {"a": 100.0}, now) is None  # stale: died long ago
    still = {"a": float(next(clock))}
    assert remote_daemon(lambda: still, now) is None  # fresh, but it stopped beating
    assert remote_daemon(dict, now) is None  # no daemon ever ran


def test_the_local_launcher_tells_a_dead_worker_from_a_live_one(tmp_path: Path) -> None:
    """Invariant: run monitoring fails a run only when its worker is gone: the latest worker's
    pid counts, a worker that said it exited has none, and a pid now used by a process of
    another instance (pid reuse) is not the worker."""
    started = "Started process for run (pid: {})."
    assert (
        worker_pid([(started.format(7), "7"), ("Process for run exited (pid: 7).", None)]) is None
    )
    assert worker_pid([(started.format(7), "7"), ("resumed", None), (started.format(9), "9")]) == 9
    home = tmp_path / "home"
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "elsewhere")},
    )
    mine = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        env={**os.environ, "DAGSTER_HOME": str(home)},
    )
    try:
        assert is_worker(mine.pid, str(home))
        assert not is_worker(other.pid, str(home))
    finally:
        for proc in (other, mine):
            proc.kill()
            proc.wait()
    assert not is_worker(mine.pid, str(home))
