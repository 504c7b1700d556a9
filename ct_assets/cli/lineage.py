"""`ct lineage model VERSION`: from a model version back to the bytes it was trained on."""

from __future__ import annotations

import argparse
import json

from ct_assets.cli import project_option
from ct_assets.cli.context import definitions_of, instance_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("lineage", help="what a model version was made from")
    project_option(parser)
    subjects = parser.add_subparsers(dest="subject", required=True)
    model = subjects.add_parser("model", help="from a model version back to its raw batches")
    model.add_argument("version")
    model.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ct_assets.lineage import as_tree, model_lineage

    project = project_of(args)
    defs = definitions_of(project)
    with instance_of(project) as instance, resources_of(defs, "mlflow", "batch_store") as res:
        try:
            found = model_lineage(instance, res.mlflow, res.batch_store, args.version)
        except LookupError as exc:
            print(exc)
            return 1
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        Console().print(as_tree(found))
    return 0
