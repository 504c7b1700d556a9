"""`ct status [--json]`: per partition, what landed, what was refused, what serves."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ct_assets.cli import project_option
from ct_assets.cli.context import definitions_of, instance_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "status", help="per partition: landed, quarantined, features, candidates, decision"
    )
    project_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def gather(project: Any) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    from ct_assets.status import champion_moves, project_status

    defs = definitions_of(project)
    with resources_of(defs, "batch_store", "mlflow") as res, instance_of(project) as instance:
        rows = project_status(instance, project.spec, res.batch_store.all_quarantined())
        champion = res.mlflow.champion_version()
        try:
            moves = champion_moves(res.mlflow.history()) if champion else []
        except MlflowException:
            moves = []  # no registered model yet: nothing has moved
    return {
        "project": project.spec.name,
        "root": str(project.root),
        "task": project.spec.task.type,
        "metric": project.spec.metric,
        "registered_model": project.spec.model_name,
        "champion": champion,
        "partitions": rows,
        "moves": moves,
    }


def table(status: dict[str, Any]) -> Any:
    from rich.table import Table

    metric = status["metric"]
    shown = Table(
        title=f"{status['project']}: {status['task']} on {metric}; champion "
        f"v{status['champion'] or '-'} of {status['registered_model']}"
    )
    for column in (
        "partition",
        "rows",
        "quarantined",
        "features",
        "candidates",
        "drift",
        "decision",
        "champion",
        metric,
        f"live {metric}",
        "retrain",
    ):
        shown.add_column(column, overflow="fold")
    for row in status["partitions"]:
        held = "; ".join(f"{q['file']}: {', '.join(q['rules'])}" for q in row["quarantined"]) or "-"
        value = row[f"champion_{metric}"]
        live = row.get(f"live_{metric}")
        decision = row["decision"] or "-"
        if row["reason"]:
            decision = f"{decision}: {row['reason']}"
        shown.add_row(
            row["partition"],
            "-" if row["rows"] is None else str(row["rows"]),
            held,
            "-" if row["features"] is None else str(row["features"]),
            ", ".join(f"v{v}" for v in row["candidates"]) or "-",
            "-" if row["drift_share"] is None else f"{row['drift_share']:.2f}",
            decision,
            f"v{row['champion']}" if row["champion"] else "-",
            "-" if value is None else f"{value:.4f}",
            "-" if live is None else f"{live:.4f} (v{row['live_champion']})",
            row.get("retrain_trigger") or "-",
        )
    return shown


def moves_table(status: dict[str, Any]) -> Any:
    from rich.table import Table

    shown = Table(title="champion moves")
    for column in ("at", "move", "version", "reason"):
        shown.add_column(column, overflow="fold")
    for move in status["moves"]:
        before = f"v{move['from']} -> " if move.get("from") else ""
        shown.add_row(str(move["at"]), move["kind"], f"{before}v{move['to']}", move["reason"])
    return shown


def run(args: argparse.Namespace) -> int:
    status = gather(project_of(args))
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0
    from rich.console import Console

    console = Console() if Console().is_terminal else Console(width=180)
    console.print(table(status))
    if status["moves"]:
        console.print(moves_table(status))
    return 0
