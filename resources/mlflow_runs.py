"""The runs ct logs beside a candidate's own: its search trials, its holdout figures, and
one run per evaluation with the curves and tables that compared the models."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ct_assets.ml.tags import Trial
from resources.mlflow_store import now_ms

if TYPE_CHECKING:
    from resources.mlflow_registry import MlflowRegistry


def log_trial(
    registry: MlflowRegistry,
    parent_run_id: str,
    number: int,
    params: dict[str, Any],
    value: float,
    metric: str = "roc_auc",
) -> None:
    """One search trial as a child run of its candidate's run."""
    from mlflow.entities import Metric, Param

    client = registry.client()
    parent = client.get_run(parent_run_id)
    child = client.create_run(
        parent.info.experiment_id,
        run_name=f"trial-{number}",
        tags={"mlflow.parentRunId": parent_run_id, **Trial(number=number).tags()},
    )
    client.log_batch(
        child.info.run_id,
        metrics=[Metric(f"validation_{metric}", value, now_ms(), 0)],
        params=[Param(k, str(v)) for k, v in params.items()],
    )
    client.set_terminated(child.info.run_id)


def log_holdout_metrics(registry: MlflowRegistry, run_id: str, metrics: dict[str, float]) -> None:
    """A candidate's holdout figures beside its training ones, in its own run."""
    from mlflow.entities import Metric

    at = now_ms()
    registry.client().log_batch(
        run_id, metrics=[Metric(f"holdout_{k}", float(v), at, 0) for k, v in metrics.items()]
    )


def log_evaluation(
    registry: MlflowRegistry,
    partition: str,
    tags: dict[str, str],
    images: dict[str, bytes],
    tables: dict[str, pd.DataFrame],
) -> str:
    """One run per evaluation: the curves (PNG) and tables that compared the models."""
    client = registry.client()
    run = client.create_run(registry.experiment_id(), run_name=f"evaluation-{partition}", tags=tags)
    run_id = str(run.info.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        for name, image in images.items():
            (Path(tmp) / f"{name}.png").write_bytes(image)
        client.log_artifacts(run_id, tmp)
    for name, table in tables.items():
        client.log_table(run_id, data=table, artifact_file=f"{name}.json")
    client.set_terminated(run_id)
    return run_id
