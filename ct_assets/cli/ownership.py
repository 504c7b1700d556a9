"""One daemon per Dagster instance, owned by the `ct up` that started it.

Two daemons on one instance evaluate the same sensors and automation twice. The owner of an
instance holds an exclusive `flock` on `<DAGSTER_HOME>/ct-daemon.lock` for as long as it lives
(the kernel releases it however the owner ends, SIGKILL included) and writes who it is into the
file, so a second `ct up` can say which process owns the instance and since when. The lock is
shared with the owner's guard (see `guard.py`), which outlives a killed owner just long enough
to stop what it started: the instance is free only once nothing of the old owner runs.

Processes are told apart by their environment (Linux /proc): every process ct starts carries
`DAGSTER_HOME` and a `CT_PROCESS_TAG`; a dagster-daemon on the instance without a tag was not
started by ct up, and ct up refuses to run beside it rather than guess.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ct_assets.project.load import ProjectError

LOCK_FILE = "ct-daemon.lock"
TAG_VARIABLE = "CT_PROCESS_TAG"


class InstanceBusy(ProjectError):
    """Another live daemon runs on the instance; the message names it (a one-line refusal)."""


@dataclass(frozen=True)
class Owner:
    """Who holds an instance: written into the lock file by its `ct up`."""

    pid: int
    since: str
    project: str
    host: str
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}), since {self.since}"


@dataclass(frozen=True)
class Process:
    pid: int
    started: datetime
    command: str
    tag: str | None

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command}), since {self.started:%Y-%m-%d %H:%M:%S} UTC"


# -- processes, read from /proc -----------------------------------------------------------------


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs}


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def _state_and_start(pid: int) -> tuple[str, datetime]:
    # The command name in /proc/<pid>/stat may hold spaces and parentheses: split after the last.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    ticks = int(fields[19])
    started = _boot_time() + ticks / os.sysconf("SC_CLK_TCK")
    return fields[0], datetime.fromtimestamp(started, UTC)


def _command(pid: int) -> str:
    parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    words = [Path(p.decode(errors="replace")).name for p in parts[:3] if p]
    return " ".join(words)


def instance_processes(home: Path) -> list[Process]:
    """Live processes (not zombies) whose DAGSTER_HOME is `home`, other than this one."""
    home = home.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            environ = _environ(pid)
            if environ.get("DAGSTER_HOME") is None:
                continue
            if Path(environ["DAGSTER_HOME"]).resolve() != home:
                continue
            state, started = _state_and_start(pid)
            if state == "Z":
                continue
            found.append(Process(pid, started, _command(pid), environ.get(TAG_VARIABLE)))
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked, or is not ours to read
    return found


def foreign_daemons(processes: list[Process]) -> list[Process]:
    """Daemons on the instance that no ct up started (a hand-run `dagster-daemon run`)."""
    return [p for p in processes if p.tag is None and "dagster-daemon" in p.command]


# -- the lock -----------------------------------------------------------------------------------


def read_owner(home: Path) -> Owner | None:
    """The owner recorded in the lock file, whether or not it still lives."""
    try:
        record = json.loads((home / LOCK_FILE).read_text() or "null")
        return Owner(**record) if isinstance(record, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def live_owner(home: Path) -> Owner | None:
    """The instance's owner when one holds the lock now, else None."""
    path = home / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_owner(home) or Owner(0, "?", "?", "?", "unknown owner")
    finally:
        os.close(fd)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def instance_claim(
    home: Path, project: Path, command: str, wait_for_dead_owner: float = 30.0
) -> Iterator[int]:
    """Hold the instance's lock for the block; yields its file descriptor (handed to the guard
    so that the lock outlives this process until its processes are stopped).

    A live owner makes this raise InstanceBusy naming it. An owner that died is being cleaned
    up by its guard, which still holds the lock: wait for it, up to `wait_for_dead_owner`.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_for_dead_owner
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                owner = read_owner(home)
                if owner is not None and owner.host == socket.gethostname() and _alive(owner.pid):
                    raise InstanceBusy(
                        f"a daemon already runs on instance {home}: ct up {owner.describe()}, "
                        f"for project {owner.project}. Stop it first (Ctrl-C in its terminal, "
                        f"or `kill {owner.pid}`); two daemons would run every sensor twice"
                    ) from None
                if time.monotonic() > deadline:
                    who = owner.describe() if owner else "an unknown process"
                    raise InstanceBusy(
                        f"instance {home} is still held after its owner ({who}) ended: its "
                        f"processes did not stop within {wait_for_dead_owner:.0f} s"
                    ) from None
                time.sleep(0.2)
        owner = Owner(
            pid=os.getpid(),
            since=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            project=str(project),
            host=socket.gethostname(),
            command=command,
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(owner)).encode(), 0)
        os.fsync(fd)
        yield fd
    finally:
        os.close(fd)


# -- daemons on other machines (a shared PostgreSQL instance) ------------------------------------

# Dagster's daemon writes a heartbeat every 30 s; one older than two intervals is a dead daemon's.
HEARTBEAT_INTERVAL = 30.0


def beating(first: dict[str, float], later: dict[str, float]) -> list[str]:
    """Daemons (by id) whose heartbeat moved between two readings: alive, wherever they run."""
    return [daemon for daemon, moment in later.items() if moment > first.get(daemon, moment)]


def remote_daemon(read: Callable[[], dict[str, float]], now: Callable[[], float]) -> str | None:
    """A live daemon on the instance that /proc cannot see (another machine, another container),
    told by its heartbeats advancing; None when the newest heartbeat is stale or stands still
    for a whole interval (a daemon that just died). `read` gives daemon id -> heartbeat time."""
    first = read()
    if not first or now() - max(first.values()) > 2 * HEARTBEAT_INTERVAL:
        return None
    deadline = now() + HEARTBEAT_INTERVAL + 5
    while now() < deadline:
        time.sleep(1.0)
        if alive := beating(first, read()):
            return ", ".join(alive)
    return None
