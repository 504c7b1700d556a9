"""`ct models` and `ct rollback`: the registry as operators need it."""

from typing import Any

import dagster as dg
from tabulate import tabulate

from resources.environments import resolved_resources
from resources.mlflow_registry import MlflowRegistry


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


def list_models(defs: dg.Definitions) -> int:
    with resolved_resources(defs, "mlflow") as resources:
        mlflow: MlflowRegistry = resources.mlflow
        print(f"{mlflow.registered_model}: champion v{mlflow.champion_version() or '-'}\n")
        print(tabulate(mlflow.versions(), headers="keys"))
        print("\nhistory of the champion alias:")
        print(tabulate([history_row(e) for e in mlflow.history()], headers="keys") or "(none)")
    return 0


def rollback(defs: dg.Definitions, reason: str, to: str | None) -> int:
    with resolved_resources(defs, "mlflow") as resources:
        try:
            move = resources.mlflow.rollback(reason, to)
        except ValueError as exc:
            print(f"rollback refused: {exc}")
            return 1
    print(f"champion v{move['from']} -> v{move['to']}: {move['reason']}")
    return 0
