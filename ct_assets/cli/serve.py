"""`ct serve`: answer predictions online with the project's champion (until Ctrl-C)."""

from __future__ import annotations

import argparse
import os

from ct_assets.cli import command_parser, port, project_option
from ct_assets.cli.context import definitions_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "serve",
        summary="serve the champion model over HTTP (/predict, /v2, /metrics)",
        description="""Answer predictions online with the project's champion until Ctrl-C:
        /predict for rows or entities (features from the online store), /v2 in the Open
        Inference Protocol, /metrics for Prometheus. A new champion is picked up without a
        restart, and every answer is logged for delayed labels and `ct lineage prediction`.""",
        examples=["ct serve", "ct serve --host 0.0.0.0 --port 8080"],
    )
    project_option(parser)
    parser.add_argument("--host", help="address to bind (default: serving.host, 127.0.0.1)")
    parser.add_argument("--port", type=port, help="port (default: serving.port, 8000)")
    parser.add_argument(
        "--no-log", action="store_true", help="do not write the prediction log (overhead bench)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Before LightGBM is imported: its OpenMP team per call collapses latency on 2 cores.
    os.environ["OMP_NUM_THREADS"] = "1"
    from ct_assets.serve.app import create_app
    from ct_assets.serve.app import run as serve
    from resources.environments import resolve

    project = project_of(args)
    serving = project.spec.serving
    defs = definitions_of(project)
    with resources_of(project, defs, "mlflow", "online_store") as resources:
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
