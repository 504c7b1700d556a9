"""The local instance's run launcher: Dagster's default, plus a health check of run workers.

Dagster's run monitoring finds dead run workers only through the launcher, and the default
launcher cannot tell: a run whose worker was killed with its code server (ct up killed, the
machine rebooted) stays STARTED forever, and automation counts its partition as in progress so
its decision never comes. Each run worker records its pid in the run's event log ("Started
process for run (pid: N)"); on this machine that is enough to tell whether it still lives. A
run found dead is marked failed by the monitoring daemon and retried by the retry daemon
(`run_monitoring` and `run_retries` in dagster.yaml).
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import DagsterEventType
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

STARTED = "Started process for run"
EXITED = "Process for run exited"


def worker_pid(messages: list[tuple[str, str | None]]) -> int | None:
    """The pid of the run's latest worker, from (message, pid) engine events in order, or None
    when it has not started or has said it exited."""
    pid: int | None = None
    for message, value in messages:
        if message.startswith(STARTED) and value:
            pid = int(value)
        elif message.startswith(EXITED):
            pid = None
    return pid


def is_worker(pid: int, dagster_home: str | None) -> bool:
    """Whether `pid` is alive (not a zombie) and a process of this instance: a pid reused by
    an unrelated process after the worker died does not count."""
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        if state == "Z":
            return False
        if dagster_home is None:
            return True
        environ = (proc / "environ").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except PermissionError:
        return True  # another user's process: alive, not ours to inspect
    prefix = b"DAGSTER_HOME="
    home = next((e[len(prefix) :] for e in environ if e.startswith(prefix)), None)
    # A worker started without the variable (an instance opened from its folder) can't be told
    # apart: count it as alive rather than fail a run that may be running.
    return home is None or Path(os.fsdecode(home)).resolve() == Path(dagster_home).resolve()


class LocalRunLauncher(DefaultRunLauncher):
    """Launches runs on the project's code server, as Dagster's default does, and tells run
    monitoring whether a run's worker still lives."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        events = self._instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
        messages = []
        for record in events:
            event = record.dagster_event
            data = event.engine_event_data if event else None
            recorded = data.metadata.get("pid") if data else None
            messages.append((record.message or "", str(recorded.value) if recorded else None))
        pid = worker_pid(messages)
        if pid is None:
            if any(m.startswith(EXITED) for m, _ in messages):
                return CheckRunHealthResult(WorkerStatus.FAILED, "the run worker exited")
            # Not started yet: run monitoring's start timeout covers a worker never started.
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no run worker recorded yet")
        if is_worker(pid, self._instance.root_directory):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"run worker pid {pid} is gone (killed, or ended with its code server)",
            run_worker_id=str(pid),
        )
