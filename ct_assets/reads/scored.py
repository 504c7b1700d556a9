"""What the monitoring stage reads: the champion scores and newest figures Dagster's event log
holds per partition, and from the registry a version's holdout baseline, model and predictions."""

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.frames import FEATURE_SET
from ct_assets.ml.live_score import NAN, NONE
from ct_assets.ml.records import LiveScore
from ct_assets.names import CHAMPION_PERFORMANCE
from resources.mlflow_registry import MlflowRegistry


def materializations(
    instance: dg.DagsterInstance, asset: dg.AssetKey | str
) -> list[dg.EventLogRecord]:
    """Every materialization of an asset, newest first, read in pages (the store caps a page)."""
    out: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetKey.from_coercible(asset), limit=1000, cursor=cursor
        )
        out.extend(page.records)
        if not page.has_more:
            return out
        cursor = page.cursor


def scored_records(instance: dg.DagsterInstance) -> list[tuple[str, str, float]]:
    """(partition, champion version, timestamp) of every champion_performance materialization."""
    out = []
    for record in materializations(instance, CHAMPION_PERFORMANCE):
        event = record.asset_materialization
        if event is None or event.partition is None:
            continue
        score = LiveScore.from_metadata({k: v.value for k, v in event.metadata.items()})
        version = score.champion_version if score else None
        out.append((event.partition, version or NONE, record.timestamp))
    return out


def latest_figures(
    instance: dg.DagsterInstance, asset: dg.AssetKey | str
) -> dict[str, dict[str, Any]]:
    """partition -> metadata of its newest materialization, as plain values."""
    out: dict[str, dict[str, Any]] = {}
    for record in materializations(instance, asset):
        event = record.asset_materialization
        if event is None or event.partition is None or event.partition in out:
            continue
        out[event.partition] = {k: v.value for k, v in event.metadata.items()}
    return out


def baseline_of(mlflow: MlflowRegistry, version: str, metric: str) -> float:
    """The version's holdout metric, as its evaluation logged it in its MLflow run."""
    client = mlflow.client()
    run_id = client.get_model_version(mlflow.registered_model, version).run_id
    if not run_id:
        return NAN
    value = client.get_run(run_id).data.metrics.get(f"holdout_{metric}")
    return NAN if value is None else float(value)


def loaded_by(
    context: dg.AssetExecutionContext, mlflow: MlflowRegistry, version: str, rows: pd.DataFrame
) -> tuple[str, Any] | None:
    """A version's family and model, loaded to score these rows; None when it cannot read
    these features (another feature set)."""
    try:
        return mlflow.load_for(version, str(rows[FEATURE_SET].iloc[0]))
    except FeatureSetMismatch as exc:
        context.log.warning(str(exc))
        return None


def predicted_by(
    context: dg.AssetExecutionContext, mlflow: MlflowRegistry, version: str, rows: pd.DataFrame
) -> np.ndarray | None:
    """A version's predictions of the rows; None when it cannot read these features."""
    from ct_assets.ml.training import predict

    loaded = loaded_by(context, mlflow, version, rows)
    return None if loaded is None else predict(loaded[0], loaded[1], rows)
