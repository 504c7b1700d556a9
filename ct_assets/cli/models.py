"""`ct models` and `ct rollback`: the registry as operators need it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ct_assets.cli import command_parser, project_option
from ct_assets.cli.context import definitions_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    models = command_parser(
        commands,
        "models",
        summary="registered versions, aliases, champion history",
        description="""The project's registered model in MLflow: every version with what it was
        trained on and its aliases, the champion, and every move of the champion alias
        (promotions and rollbacks, with their gates and reasons).""",
        examples=["ct models", "ct models --json"],
    )
    project_option(models)
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(run=list_models)
    back = command_parser(
        commands,
        "rollback",
        summary="move the champion alias back",
        description="""Move the champion alias back to the version the current champion
        replaced, or to the version named by --to; the move and its reason are recorded in the
        alias's history, and ct serve picks the version up without a restart.""",
        examples=["ct rollback", 'ct rollback --to 3 --reason "live AUC fell below 0.6"'],
    )
    project_option(back)
    back.add_argument("--to", help="the version to serve (default: the one the champion replaced)")
    back.add_argument("--reason", default="manual rollback", help="recorded in the history")
    back.set_defaults(run=rollback)


def history_row(entry: dict[str, Any]) -> dict[str, Any]:
    """One move of the alias; its gates as passed/failed marks (figures stay in the registry)."""
    gates = entry.get("gates") or {}
    marks = " ".join(f"{g}:{'pass' if f.get('passed') else 'FAIL'}" for g, f in gates.items())
    return {
        "kind": entry["kind"],
        "from": entry.get("from"),
        "to": entry["to"],
        "at": entry["at"],
        "gates": marks or "-",
        "reason": entry["reason"],
    }


def list_models(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    project = project_of(args)
    with resources_of(project, definitions_of(project), "mlflow") as resources:
        mlflow = resources.mlflow
        champion, versions, history = mlflow.champion_version(), mlflow.versions(), []
        if versions:
            history = mlflow.history()
    if args.json:
        shown = {
            "registered_model": mlflow.registered_model,
            "champion": champion,
            "versions": versions,
            "history": history,
        }
        print(json.dumps(shown, indent=2, default=str))
        return 0
    print(f"{mlflow.registered_model}: champion v{champion or '-'}\n")
    print(tabulate(versions, headers="keys") or "(no version registered yet)")
    print("\nhistory of the champion alias:")
    print(tabulate([history_row(e) for e in history], headers="keys") or "(none)")
    return 0


def rollback(args: argparse.Namespace) -> int:
    project = project_of(args)
    with resources_of(project, definitions_of(project), "mlflow") as resources:
        try:
            move = resources.mlflow.rollback(args.reason, args.to)
        except ValueError as exc:
            print(f"rollback refused: {exc}")
            return 1
    print(f"champion v{move['from']} -> v{move['to']}: {move['reason']}")
    return 0
