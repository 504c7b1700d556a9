"""`ct serve`: answer predictions online with the project's champion (until Ctrl-C)."""

from __future__ import annotations

import argparse
import os

from ct_assets.cli import project_option
from ct_assets.cli.context import definitions_of, project_of, resources_of
from resources.environments import resolve


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve", help="serve the champion model over HTTP (/predict, /v2, /metrics)"
    )
    project_option(parser)
    parser.add_argument("--host", help="address to bind (default: serving.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: serving.port, 8000)")
    parser.add_argument(
        "--no-log", action="store_true", help="do not write the prediction log (overhead bench)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Before LightGBM is imported: its OpenMP team per call collapses latency on 2 cores.
    os.environ["OMP_NUM_THREADS"] = "1"
    from ct_assets.serve.app import create_app
    from ct_assets.serve.app import run as serve

    project = project_of(args)
    serving = project.spec.serving
    defs = definitions_of(project)
    with resources_of(defs, "mlflow", "online_store") as resources:
        app = create_app(
            project.spec,
            resources.mlflow,
            resources.online_store,
            None if args.no_log else resolve(project).data_root(),
        )
        host, port = args.host or serving.host, args.port or serving.port
        print(
            f"ct serve {project.spec.name}: http://{host}:{port}/predict  (/ready, /metrics, /v2)"
        )
        serve(app, host, port)
    return 0
