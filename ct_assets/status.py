"""What happened to each partition of a project, read from its instance and raw store.

The one table `ct status` prints and `ct demo` ends with: landed, quarantined (with why),
features, candidates, the decision, and the champion after it with its holdout metric.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from ct_assets.names import (
    CANDIDATE_MODELS,
    FEATURE_DRIFT,
    FEATURES,
    MODEL_EVALUATIONS,
    PRODUCTION_MODEL,
    RAW_BATCHES,
    VALIDATED_BATCHES,
)
from ct_assets.observe import latest_metadata
from ct_assets.project.spec import ProjectSpec

SHOWN = (RAW_BATCHES, VALIDATED_BATCHES, FEATURES, CANDIDATE_MODELS, PRODUCTION_MODEL)


def _ids(text: Any) -> list[str]:
    return [] if text in (None, "none", "") else [s.strip() for s in str(text).split(",")]


def partition_row(
    instance: dg.DagsterInstance,
    spec: ProjectSpec,
    partition: str,
    quarantined: list[dict[str, Any]],
) -> dict[str, Any]:
    metric = spec.metric
    raw = latest_metadata(instance, RAW_BATCHES, partition) or {}
    validated = latest_metadata(instance, VALIDATED_BATCHES, partition)
    features = latest_metadata(instance, FEATURES, partition)
    candidates = latest_metadata(instance, CANDIDATE_MODELS, partition)
    evaluation = latest_metadata(instance, MODEL_EVALUATIONS, partition) or {}
    decision = latest_metadata(instance, PRODUCTION_MODEL, partition)
    drift = latest_metadata(instance, FEATURE_DRIFT, partition)
    champion_metric = None
    if decision is not None:
        promoted = decision.get("decision") == "promote"
        key = f"candidate_{metric}" if promoted else f"champion_{metric}"
        value = decision.get(key)
        champion_metric = None if value is None or value != value else float(value)
    return {
        "partition": partition,
        "batches": len(_ids(raw.get("batch_ids"))),
        "rows": None if validated is None else validated.get("dagster/row_count"),
        "quarantined": [
            {
                "batch_id": q["batch_id"],
                "file": q.get("file"),
                "rules": q.get("rules", []),
                "reason": q.get("reason", ""),
            }
            for q in quarantined
        ],
        "features": None if features is None else features.get("dagster/row_count"),
        "unseen_category_rows": None if features is None else features.get("unseen_category_rows"),
        "candidates": _ids(None if candidates is None else candidates.get("model_versions")),
        f"best_candidate_{metric}": evaluation.get(f"best_candidate_{metric}"),
        "drift_share": None if drift is None else drift.get("drift_share"),
        "decision": None if decision is None else decision.get("decision"),
        "reason": None if decision is None else decision.get("reason"),
        "champion": None if decision is None else decision.get("champion_after"),
        f"champion_{metric}": champion_metric,
    }


def project_status(
    instance: dg.DagsterInstance, spec: ProjectSpec, quarantine: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per partition that received data, oldest first."""
    keys: set[str] = set()
    for asset in SHOWN:
        keys |= set(instance.get_materialized_partitions(dg.AssetKey(asset)))
    held: dict[str, list[dict[str, Any]]] = {}
    for record in quarantine:
        for partition in record.get("partitions", []):
            held.setdefault(str(partition), []).append(record)
            keys.add(str(partition))
    return [partition_row(instance, spec, k, held.get(k, [])) for k in sorted(keys)]
