"""What happened to each partition of a project, read from its instance and raw store.

The one table `ct status` prints and `ct demo` ends with: landed, quarantined (with why),
features, candidates, the decision, and the champion after it with its holdout metric.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from ct_assets.names import (
    CANDIDATE_MODELS,
    CHAMPION_PERFORMANCE,
    FEATURE_DRIFT,
    FEATURES,
    MODEL_EVALUATIONS,
    PRODUCTION_MODEL,
    RAW_BATCHES,
    TRIGGER_TAG,
    VALIDATED_BATCHES,
)
from ct_assets.observe import latest_metadata, materialization_record
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
    live = latest_metadata(instance, CHAMPION_PERFORMANCE, partition) or {}
    live_value = live.get(f"champion_{metric}")
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
        # The champion as it stood before this partition's retrain, scored on its rows.
        "live_champion": live.get("champion_version"),
        f"live_{metric}": None if live_value is None or live_value != live_value else live_value,
        "retrain_trigger": retrain_trigger(instance, partition),
    }


def retrain_trigger(instance: dg.DagsterInstance, partition: str) -> str | None:
    """What started the run that took this partition's promotion decision (None: automation
    or by hand, untagged)."""
    record = materialization_record(instance, PRODUCTION_MODEL, partition)
    if record is None or record["run_id"] is None:
        return None
    run = instance.get_run_by_id(record["run_id"])
    return None if run is None else run.tags.get(TRIGGER_TAG)


def champion_moves(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Promotions and rollbacks of the champion, oldest first, with their reasons."""
    return [{k: move.get(k) for k in ("kind", "at", "from", "to", "reason")} for move in history]


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
