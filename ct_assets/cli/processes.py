"""Starting the Dagster daemon and UI for a project or a fleet of projects, and stopping all
of them, children too.

Each server starts in a session of its own, so that a Ctrl-C in the terminal reaches ct alone
and ct decides the order of shutdown; stopping signals the whole process group, which holds the
code servers (`dagster api grpc`) and run workers the daemon started: none outlives ct.

When ct itself is killed (SIGKILL: no handler runs), two things still stop them: the servers
get SIGINT from the kernel when their parent dies (PR_SET_PDEATHSIG), and the guard process
(`guard.py`) stops every process carrying ct's tag. The instance's lock (`ownership.py`) keeps
a second `ct up` from starting another daemon meanwhile.

A fleet (every project under one folder, on one instance) gets one daemon and one UI, whose
code server loads every project (CT_FLEET), and a `ct serve` per project when asked.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ct_assets.cli.context import FLEET_VARIABLE
from ct_assets.cli.ownership import (
    TAG_VARIABLE,
    InstanceBusy,
    foreign_daemons,
    instance_claim,
    instance_processes,
    live_owner,
    remote_daemon,
)
from ct_assets.project.fleet import Fleet
from ct_assets.project.load import HOME_DIR, Project, ProjectError
from resources.environments import Environment, resolve

GRACE_SECONDS = 15.0
# Where ct writes for a project; in a fleet, the root holding a folder per project.
HOME_VARIABLE = "CT_HOME"
# prctl(2) option: the signal a child gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Install:
    """What one `ct up` runs a daemon for, on one instance: a lone project, or every project
    of a fleet (`fleet`: its folder)."""

    projects: tuple[Project, ...]
    fleet: Path | None = None

    @classmethod
    def of(cls, target: Project | Fleet | Install) -> Install:
        if isinstance(target, Install):
            return target
        if isinstance(target, Fleet):
            # The first prepares the shared instance, with the run queue's limits of them all.
            return cls((target.instance_project(), *target.projects[1:]), target.root)
        return cls((target,))

    @property
    def root(self) -> Path:
        return self.fleet or self.projects[0].root

    @property
    def logs(self) -> Path:
        home = self.fleet / HOME_DIR if self.fleet else self.projects[0].home
        return home / "logs"

    def environments(self, environ: Mapping[str, str] | None = None) -> list[Environment]:
        """Each project's environment; the projects of a fleet must agree on their instance
        (one daemon per instance), so on their environment too."""
        environments = [resolve(project, environ) for project in self.projects]
        homes = {e.dagster_home for e in environments}
        if len(homes) > 1:
            shown = ", ".join(f"{e.project.spec.name} ({e.name})" for e in environments)
            raise ProjectError(
                f"{self.root}: the projects of a fleet run on one instance, so in one "
                f"environment: {shown}; set `environment` alike in each ct.yaml (or CT_ENV)"
            )
        return environments

    def child_env(self, environment: Environment, extra: Mapping[str, str]) -> dict[str, str]:
        """The environment of every process started: a fleet's load every project (CT_FLEET),
        so no one project's selector or home is handed down (CT_HOME stays what the caller
        said: in a fleet, the root of every project's home); a lone project's load it alone,
        whatever fleet the calling shell names (`ct demo` beside CT_FLEET)."""
        env = environment.child_env(extra)
        if self.fleet is None:
            env.pop(FLEET_VARIABLE, None)
            return env
        env.pop("CT_PROJECT", None)
        env.pop(HOME_VARIABLE, None)
        if HOME_VARIABLE in environment.environ:
            env[HOME_VARIABLE] = environment.environ[HOME_VARIABLE]
        env[FLEET_VARIABLE] = str(self.fleet)
        return env


def prepare_instance(environment: Environment, *others: Environment) -> None:
    """The environment's Dagster instance, configured, with every project's pools given their
    slots (a fleet: `others` share the instance of the first)."""
    from ct_assets.stages.common import initialize_pools

    environment.prepare_instance()
    every = (environment, *others)
    with environment.instance() as instance:
        for each in every:
            initialize_pools(instance, each.project.namespace)
    # The local MLflow store is created here, once, before the daemon starts: every process
    # that opens a missing SQLite store migrates it, and two doing so at once (a sensor tick
    # and a run, or a CLI call) fail on MLflow's alembic version row. Each project has its own.
    for each in every:
        if not each.production:
            store = each.project.mlflow_dir / "mlflow.db"
            if not store.exists():
                store.parent.mkdir(parents=True, exist_ok=True)
                each.registry().client()


def _bin(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else name


@dataclass
class Servers:
    """The processes started for one project, and where their logs go."""

    tag: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    guard: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        procs = [*self.procs, *([self.guard] if self.guard else [])]
        return all(p.poll() is None for p in procs)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Interrupt every process group (Dagster shuts down cleanly on SIGINT), then kill
        whatever is left after `grace` seconds, group by group."""
        for proc in self.procs:
            _signal_group(proc, signal.SIGINT)
        deadline = time.monotonic() + grace
        for proc in self.procs:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        # A group outlives its leader when a child (a code server) ignores the interrupt.
        for proc in self.procs:
            _signal_group(proc, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        # Waiting on a leader is not waiting on its group: a killed run worker holding a model
        # takes a moment to exit, and a process that left the group (a new session) would not
        # have been signalled at all. Every process carrying our tag is gone before we return.
        stop_tagged(self.tag, grace=0.0, give_up_after=grace)
        if self.guard is not None:
            # Its pipe closes with us; until then it would find nothing left to stop.
            with suppress(OSError):
                if self.guard.stdin:
                    self.guard.stdin.close()
            with suppress(subprocess.TimeoutExpired):
                self.guard.wait(timeout=5)


def stop_tagged(tag: str, grace: float, give_up_after: float = GRACE_SECONDS) -> None:
    """Stop every process carrying `tag`: SIGINT first (Dagster's servers and run workers end
    cleanly on it, a run worker marking its run failed), SIGKILL for whatever is left after
    `grace` seconds, until none is left or `give_up_after` more seconds have passed."""
    if grace > 0:
        for pid in processes_with(TAG_VARIABLE, tag):
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        while processes_with(TAG_VARIABLE, tag) and time.monotonic() < deadline:
            time.sleep(0.2)
    deadline = time.monotonic() + give_up_after
    while (left := processes_with(TAG_VARIABLE, tag)) and time.monotonic() < deadline:
        for pid in left:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ending_with_parent() -> Callable[[], object]:
    """What a server runs before exec: ask for SIGINT when ct ends, even by SIGKILL. libc is
    loaded here, in ct: between fork and exec a child must not import (another thread of ct
    may hold the import lock)."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return functools.partial(prctl, PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)


def _take_over(home: Path) -> None:
    """Before starting anything on a claimed instance: refuse a daemon nobody owns, stop the
    leftovers of a ct up that died with its guard (an older ct had none)."""
    found = instance_processes(home)
    if strangers := foreign_daemons(found):
        raise InstanceBusy(
            f"a dagster-daemon not started by ct up runs on instance {home}: "
            + "; ".join(p.describe() for p in strangers)
            + ". Stop it first: two daemons would run every sensor twice"
        )
    for tag in sorted({p.tag for p in found if p.tag}):
        left = [p for p in found if p.tag == tag]
        print(
            f"stopping {len(left)} process(es) left on this instance by a ct up that ended: "
            + ", ".join(str(p.pid) for p in left),
            flush=True,
        )
        stop_tagged(tag, GRACE_SECONDS)


def _refuse_other_installs(install: Install, home: Path) -> None:
    """A project runs under one daemon: a fleet's project is not also run alone (on its own
    instance), nor a lone project inside a fleet whose ct up runs; either would ingest its
    files twice. Instances apart only: on a shared one the instance's lock already refuses."""
    if install.fleet is not None:
        for project in install.projects:
            alone = project.home / "dagster_home"
            if alone != home and (owner := live_owner(alone)) is not None:
                raise InstanceBusy(
                    f"project {project.spec.name} of this fleet runs alone under another ct up "
                    f"({owner.describe()}): stop it first, or its files would be ingested twice"
                )
        return
    root = install.root
    for folder in root.parents:
        fleet_home = folder / HOME_DIR / "dagster_home"
        if fleet_home == home or not fleet_home.is_dir():
            continue
        owner = live_owner(fleet_home)
        if owner is not None and owner.project == str(folder):
            raise InstanceBusy(
                f"{root} is a project of the fleet {folder}, whose ct up runs it "
                f"({owner.describe()}): `ct status --fleet {folder}` shows it; stop that one to "
                f"run the project alone"
            )


def _refuse_remote_daemon(environment: Environment) -> None:
    """A production instance (PostgreSQL) may be shared by machines: a daemon on another one is
    seen only through its heartbeats."""
    with environment.instance() as instance:

        def read() -> dict[str, float]:
            newest: dict[str, float] = {}
            for beat in instance.get_daemon_heartbeats().values():
                daemon = beat.daemon_id or beat.daemon_type
                newest[daemon] = max(newest.get(daemon, 0.0), beat.timestamp)
            return newest

        if alive := remote_daemon(read, time.time):
            raise InstanceBusy(
                f"a dagster-daemon on another machine runs on this instance (daemon {alive}: "
                "its heartbeats advance); stop it first: two daemons would run every sensor twice"
            )


def _start_guard(servers: Servers, lock_fd: int, env: dict[str, str]) -> None:
    guard_env = {k: v for k, v in env.items() if k != TAG_VARIABLE}
    servers.guard = subprocess.Popen(
        [sys.executable, "-m", "ct_assets.cli.guard", servers.tag, str(GRACE_SECONDS)],
        stdin=subprocess.PIPE,
        env=guard_env,
        pass_fds=(lock_fd,),
        start_new_session=True,
    )


def commands(
    install: Install, ui_port: int | None, host: str, serving: Mapping[str, int]
) -> list[tuple[str, list[str]]]:
    """What to start, each with the name of its log: the daemon, the UI when asked, and a
    `ct serve` per project in `serving` (its name -> port)."""
    target = ["-m", "ct_assets.definitions"]
    found = [("dagster-daemon", [_bin("dagster-daemon"), "run", *target])]
    if ui_port is not None:
        ui = [_bin("dagster-webserver"), "-h", host, "-p", str(ui_port), *target]
        found.append(("dagster-webserver", ui))
    for project in install.projects:
        port = serving.get(project.spec.name)
        if port is None:
            continue
        # A fleet's projects each log apart; a lone project's log keeps its name.
        log = f"ct-serve-{project.namespace.prefix}" if install.fleet else "ct-serve"
        serve = [
            *("serve", "--project", str(project.root)),
            *("--host", host, "--port", str(port)),
        ]
        found.append((log, [_bin("ct"), *serve]))
    return found


@contextmanager
def dagster_servers(
    target: Project | Fleet | Install,
    ui_port: int | None = None,
    host: str = "127.0.0.1",
    serving: Mapping[str, int] | None = None,
) -> Iterator[Servers]:
    """The daemon (sensors, automation, run queue), optionally the UI and `ct serve` (for the
    projects `serving` names, each on its port), for a project or every project of a fleet,
    on an instance this process owns (InstanceBusy when another daemon runs on it).

    On leaving the block, by any path (an error, Ctrl-C, SIGTERM), everything started is
    stopped, down to the code servers and run workers the daemon launched; if this process is
    killed outright, its guard does it.
    """
    install = Install.of(target)
    environments = install.environments()
    environment = environments[0]
    home = environment.dagster_home
    invocation = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))
    with instance_claim(home, install.root, invocation or "ct") as lock_fd:
        _take_over(home)
        _refuse_other_installs(install, home)
        prepare_instance(*environments)
        if environment.production:
            _refuse_remote_daemon(environment)
        logs = install.logs
        logs.mkdir(parents=True, exist_ok=True)
        servers = Servers(tag=uuid.uuid4().hex)
        env = install.child_env(environment, {TAG_VARIABLE: servers.tag})
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            # The guard first: from here on, nothing started can outlive this process.
            _start_guard(servers, lock_fd, env)
            ending = _ending_with_parent()
            for name, command in commands(install, ui_port, host, serving or {}):
                log = (logs / f"{name}.log").open("ab")
                servers.procs.append(
                    subprocess.Popen(
                        command,
                        cwd=install.root,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=ending,
                    )
                )
            yield servers
        finally:
            servers.stop()
            signal.signal(signal.SIGTERM, previous)


def processes_with(variable: str, value: str) -> list[int]:
    """Pids of live processes whose environment holds `variable=value` (Linux: /proc)."""
    marker = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found
