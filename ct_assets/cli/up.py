"""`ct up [--ui]`: the real daemon (and the UI) for the project, until Ctrl-C."""

from __future__ import annotations

import argparse
import time
import typing

from ct_assets.cli import command_parser, port, project_option
from ct_assets.cli.context import project_of
from ct_assets.project.spec import ProjectSpec

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
        With --ui it also serves the Dagster UI, with --serve the champion online. Ctrl-C (or
        SIGTERM) stops every process it started; so does its guard when ct up is killed. One
        daemon per instance: a second ct up on the same instance refuses, naming the first.""",
        examples=["ct up", "ct up --project proj --ui --serve"],
    )
    project_option(parser)
    parser.add_argument("--ui", action="store_true", help="also serve the Dagster UI")
    parser.add_argument("--port", type=port, default=3000, help="UI port (default 3000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="UI and serving address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="also serve the champion online (`ct serve`)"
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


def run(args: argparse.Namespace) -> int:
    import signal

    from ct_assets.cli.processes import dagster_servers
    from resources.environments import resolve

    # Ctrl-C is how ct up stops: a parent may hand SIGINT down ignored or blocked (a background
    # job, a test runner's threads), so ct up takes it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    project = project_of(args)
    if args.env:
        project = project.with_spec({"environment": args.env})
    environment = resolve(project).require()
    if "://" not in project.landing:
        project.landing_dir.mkdir(parents=True, exist_ok=True)
    print(f"project {project.spec.name}: {project.root}  (environment {environment.name})")
    print(f"  landing  {project.landing}  (drop CSV, JSON Lines or Parquet files here)")
    print(f"  data     {environment.data_url}")
    print(f"  models   {environment.tracking_uri}")
    print(f"  instance {environment.dagster_home}  (logs in {project.home / 'logs'})")
    try:
        serve_port = (args.serve_port or project.spec.serving.port) if args.serve else None
        ui_port = args.port if args.ui else None
        with dagster_servers(project, ui_port, args.host, serve_port) as servers:
            if args.ui:
                print(f"  UI       http://{args.host}:{args.port}")
            if serve_port is not None:
                print(f"  serving  http://{args.host}:{serve_port}/predict  (/metrics, /v2)")
            print("the daemon runs the sensors and automation; `ct status` shows progress.")
            print("Ctrl-C stops everything ct started.")
            while servers.alive():
                time.sleep(0.5)
            print("a Dagster process exited: see the logs; stopping the rest")
            return 1
    except KeyboardInterrupt:
        print("\nstopped")
        return 0
