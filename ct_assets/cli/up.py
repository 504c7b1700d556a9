"""`ct up [--ui]`: the real daemon (and the UI) for the project, or for every project of a
fleet on its one instance, until Ctrl-C."""

from __future__ import annotations

import argparse
import time
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ct_assets.cli import command_parser, port, project_option
from ct_assets.cli.context import fleet_of, project_of
from ct_assets.project.load import Project, ProjectError
from ct_assets.project.spec import ProjectSpec

if TYPE_CHECKING:
    from ct_assets.cli.processes import Install

# The environments a project may declare; read from the spec, not from resources.environments,
# whose Dagster import `ct --help` would otherwise pay for.
ENVIRONMENTS = typing.get_args(ProjectSpec.model_fields["environment"].annotation)


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "up",
        summary="run the Dagster daemon (sensors, automation) for the project until Ctrl-C",
        description="""Run dagster-daemon for the project: its sensors watch the landing folder
        and the pulled sources, and automation carries each new partition through the graph.
        With --fleet (or CT_FLEET), one daemon for every project of the fleet, on its one
        instance. With --ui it also serves the Dagster UI, with --serve the champion online
        (in a fleet, each project's on its own serving.port). Ctrl-C (or SIGTERM) stops every
        process it started; so does its guard when ct up is killed. One daemon per instance:
        a second ct up on the same instance refuses, naming the first.""",
        examples=["ct up", "ct up --project proj --ui --serve", "ct up --fleet projects --ui"],
    )
    project_option(parser)
    parser.add_argument("--ui", action="store_true", help="also serve the Dagster UI")
    parser.add_argument("--port", type=port, default=3000, help="UI port (default 3000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="UI and serving address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="also serve the champion online (`ct serve`; in a fleet, every project's)",
    )
    parser.add_argument(
        "--serve-port", type=port, help="serving port (default: serving.port in ct.yaml, 8000)"
    )
    parser.add_argument(
        "--env",
        choices=ENVIRONMENTS,
        help="local (SQLite, files, local MLflow) or production (PostgreSQL, S3, an MLflow "
        "server: endpoints from the environment; see deploy/README.md). Default: ct.yaml's "
        "`environment` (or CT_ENV)",
    )
    parser.set_defaults(run=run)


def fleet_ports(projects: Sequence[Project]) -> dict[str, int]:
    """Each project of a fleet served on its own `serving.port`; two on one port are refused,
    named, before anything starts."""
    ports: dict[str, int] = {}
    for project in projects:
        port = project.spec.serving.port
        taken = next((name for name, p in ports.items() if p == port), None)
        if taken is not None:
            raise ProjectError(
                f"{project.file}: serving.port: {port} is also {taken}'s: with --serve every "
                f"project of a fleet is served on its own serving.port"
            )
        ports[project.spec.name] = port
    return ports


def serving_of(args: argparse.Namespace, install: Install) -> dict[str, int]:
    """Which projects `ct serve` runs for, each on its port (none without --serve)."""
    if not args.serve:
        return {}
    if install.fleet is None:
        project = install.projects[0]
        return {project.spec.name: args.serve_port or project.spec.serving.port}
    if args.serve_port:
        raise ProjectError(
            "--serve-port names one port: a fleet serves each project on its own "
            "serving.port (ct.yaml)"
        )
    return fleet_ports(install.projects)


def install_of(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Install:
    """The lone project, or every project of the fleet, `ct up` runs the daemon for."""
    from ct_assets.cli.processes import Install

    fleet = fleet_of(args, environ)
    if fleet is None:
        project = project_of(args, environ)
        return Install((project.with_spec({"environment": args.env}) if args.env else project,))
    if getattr(args, "project", None):
        raise ProjectError(
            f"{fleet.root}: ct up runs the daemon of every project of a fleet (one daemon per "
            f"instance): drop --project, or run the project alone without --fleet / CT_FLEET"
        )
    # The fleet's first project prepares the shared instance, with every project's limits.
    install = Install.of(fleet)
    if args.env:
        changed = tuple(p.with_spec({"environment": args.env}) for p in install.projects)
        return Install(changed, fleet.root)
    return install


def run(args: argparse.Namespace) -> int:
    import signal

    from ct_assets.cli.processes import dagster_servers

    # Ctrl-C is how ct up stops: a parent may hand SIGINT down ignored or blocked (a background
    # job, a test runner's threads), so ct up takes it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    install = install_of(args)
    environments = [e.require() for e in install.environments()]
    serving = serving_of(args, install)
    for project in install.projects:
        if "://" not in project.landing:
            project.landing_dir.mkdir(parents=True, exist_ok=True)
    environment = environments[0]
    if install.fleet is not None:
        print(
            f"fleet {install.fleet}: {len(install.projects)} projects  "
            f"(environment {environment.name})"
        )
    for each in environments:
        project = each.project
        print(f"project {project.spec.name}: {project.root}  (environment {each.name})")
        print(f"  landing  {project.landing}  (drop CSV, JSON Lines or Parquet files here)")
        print(f"  data     {each.data_url}")
        print(f"  models   {each.tracking_uri}")
        if project.spec.name in serving:
            port = serving[project.spec.name]
            print(f"  serving  http://{args.host}:{port}/predict  (/metrics, /v2)")
    # A lone project's instance is its own; a fleet's, every project's.
    indent = "" if install.fleet else "  "
    print(f"{indent}instance {environment.dagster_home}  (logs in {install.logs})")
    try:
        ui_port = args.port if args.ui else None
        with dagster_servers(install, ui_port, args.host, serving) as servers:
            if args.ui:
                print(f"  UI       http://{args.host}:{args.port}")
            print("the daemon runs the sensors and automation; `ct status` shows progress.")
            print("Ctrl-C stops everything ct started.")
            while servers.alive():
                time.sleep(0.5)
            print("a Dagster process exited: see the logs; stopping the rest")
            return 1
    except KeyboardInterrupt:
        print("\nstopped")
        return 0
