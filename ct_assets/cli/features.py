"""`ct features get ENTITY`: what serving would read for an entity, and optionally its score."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ct_assets.cli import command_parser, project_option
from ct_assets.cli.context import definitions_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "features",
        summary="the online feature store",
        description="""Read the online feature store the pipeline writes for a project with an
        entity: what serving would read for one entity, and optionally its score.""",
        examples=["ct features get c00042 --score"],
    )
    project_option(parser)
    actions = parser.add_subparsers(dest="action", required=True)
    get = command_parser(
        actions,
        "get",
        summary="an entity's latest online feature vector",
        description="""An entity's latest online feature vector as JSON, as serving would read
        it; with --score, also the champion's score for it. Exits 1 for an unknown entity.""",
        examples=["ct features get c00042", "ct features get c00042 --score"],
    )
    project_option(get)
    get.add_argument("entity", help="the entity id (the value of dataset.roles.entity)")
    get.add_argument("--score", action="store_true", help="also score it with the champion")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ct_assets.reads.serving import score_entity

    project = project_of(args)
    if project.spec.dataset.entity is None:
        print(f"{project.spec.name} declares no entity: there is no online store to read")
        return 1
    defs = definitions_of(project)
    keys = ("online_store", "mlflow") if args.score else ("online_store",)
    with resources_of(project, defs, *keys) as resources:
        vector = resources.online_store.get(args.entity)
        if vector is None:
            print(
                f"no online features for entity {args.entity!r} in "
                f"{resources.online_store.location()}"
            )
            return 1
        shown: dict[str, Any] = vector.as_dict()
        if args.score:
            shown["champion"] = score_entity(
                resources.mlflow, resources.online_store, args.entity, project.spec
            )
    print(json.dumps(shown, indent=2))
    return 0
