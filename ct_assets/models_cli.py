"""`ct models` and `ct rollback`: the registry as operators need it."""

import dagster as dg
from tabulate import tabulate

from resources.environments import resolved_resources
from resources.mlflow_registry import MlflowRegistry


def list_models(defs: dg.Definitions) -> int:
    with resolved_resources(defs, "mlflow") as resources:
        mlflow: MlflowRegistry = resources.mlflow
        print(f"{mlflow.registered_model}: champion v{mlflow.champion_version() or '-'}\n")
        print(tabulate(mlflow.versions(), headers="keys"))
        print("\nhistory of the champion alias:")
        print(tabulate(mlflow.history(), headers="keys") or "(none)")
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
