"""`ct lineage model VERSION` and `ct lineage prediction REQUEST_ID`: back to the raw bytes."""

from __future__ import annotations

import argparse
import json

from ct_assets.cli import command_parser, project_option
from ct_assets.cli.context import definitions_of, instance_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "lineage",
        summary="what a model version was made from",
        description="""Trace a model version, or a served prediction, back to the raw bytes:
        the partitions and batches (with their sha256) it was trained on, each step's
        materialization, its gates, and for a prediction the version that answered it.""",
        examples=["ct lineage model 7", "ct lineage prediction REQUEST_ID --json"],
    )
    project_option(parser)
    subjects = parser.add_subparsers(dest="subject", required=True)
    model = command_parser(
        subjects,
        "model",
        summary="from a model version back to its raw batches",
        description="""A model version's lineage: the chain of versions it continued from, the
        partitions each trained on, every step's materialization and the raw batches.""",
        examples=["ct lineage model 7", "ct lineage model 7 --json"],
    )
    model.add_argument("version", help="the registered model version, as `ct models` lists it")
    prediction = command_parser(
        subjects,
        "prediction",
        summary="from a served request to the model and data that answered it",
        description="""A served prediction's lineage: the logged request, the model version
        that answered it, and that version's own lineage.""",
        examples=["ct lineage prediction REQUEST_ID"],
    )
    prediction.add_argument("request_id", help="as ct serve returned and logged it")
    for subject in (model, prediction):
        project_option(subject)
        subject.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ct_assets.io.predictions import find_request
    from ct_assets.reads.lineage import as_tree, model_lineage, prediction_lineage, prediction_tree
    from resources.environments import resolve

    project = project_of(args)
    data = resolve(project).data_root()
    # The log is read once; an unknown id is refused before any Dagster instance is opened.
    logged = find_request(data, args.request_id) if args.subject == "prediction" else []
    if args.subject == "prediction" and not logged:
        # Said before opening the instance: an unknown id needs no Dagster to be refused.
        print(f"no logged prediction has request id {args.request_id!r} (in {data})")
        return 1
    defs, namespace = definitions_of(project), project.namespace
    with (
        instance_of(project) as instance,
        resources_of(project, defs, "mlflow", "batch_store") as res,
    ):
        try:
            if args.subject == "prediction":
                found = prediction_lineage(
                    instance, res.mlflow, res.batch_store, args.request_id, logged, namespace
                )
            else:
                found = model_lineage(
                    instance, res.mlflow, res.batch_store, args.version, namespace
                )
        except LookupError as exc:
            print(exc)
            return 1
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        tree = prediction_tree(found) if args.subject == "prediction" else as_tree(found)
        Console().print(tree)
    return 0
