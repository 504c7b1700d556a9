"""`ct lineage model VERSION`: from a model version back to the bytes it was trained on.

Built from the MLflow registry (what the version was trained on) and Dagster's event log (which
run produced each step, with which code version and what it recorded), as of the training run.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
from rich.tree import Tree

from ct_assets.candidates import CANDIDATE_MODELS
from ct_assets.evaluations import MODEL_EVALUATIONS
from ct_assets.features import FEATURES
from ct_assets.observe import latest_check_passed, materialization_record
from ct_assets.production import PRODUCTION_MODEL, PROMOTION_GATE
from ct_assets.raw import RAW_BATCHES
from ct_assets.splits import TRAINING_WINDOW
from ct_assets.validated import SCHEMA_CHECK, VALIDATED_BATCHES
from resources.mlflow_registry import FAMILY_TAG, FEATURE_SET_TAG, MlflowRegistry
from resources.storage import BatchStore

DATA_STEPS = (RAW_BATCHES, VALIDATED_BATCHES, FEATURES)


def _step(record: dict[str, Any] | None, *keys: str) -> dict[str, Any] | None:
    if record is None:
        return None
    shown = {k: record["metadata"].get(k) for k in keys if k in record["metadata"]}
    return {
        "run_id": record["run_id"],
        "code_version": record["code_version"],
        "at": datetime.fromtimestamp(record["at"], UTC).isoformat(),
        **shown,
    }


def model_lineage(
    instance: dg.DagsterInstance, registry: MlflowRegistry, store: BatchStore, version: str
) -> dict[str, Any]:
    """Everything an auditor asks about one model version, as plain data."""
    tags = registry.version_tags(version)
    if not tags:
        raise LookupError(f"{registry.registered_model} has no version {version}")
    partition = tags["ct.partition"]
    partitions = tags["ct.training_partitions"].split(",")
    run = instance.get_run_record_by_id(tags["ct.dagster_run_id"])
    # The data as it was when the model was trained (the training run's end: the same run may
    # have produced the upstream steps too), not as it may have been re-run since.
    cutoff = run.end_time if run and run.end_time else None
    window = materialization_record(instance, TRAINING_WINDOW, partition, cutoff)
    data: dict[str, dict[str, Any]] = {}
    for p in partitions:
        steps: dict[str, Any] = {
            step: _step(
                materialization_record(instance, step, p, cutoff),
                "dagster/row_count",
                "batch_ids",
                "accepted_batch_ids",
                "quarantined_batch_ids",
                "feature_set_id",
            )
            for step in DATA_STEPS
        }
        steps["schema_check_passed"] = latest_check_passed(
            instance, VALIDATED_BATCHES, SCHEMA_CHECK, p
        )
        data[p] = steps
    batches = []
    for batch_id in tags["ct.batch_ids"].split(","):
        manifest = store.find_batch(batch_id) or {}
        batches.append(
            {
                "batch_id": batch_id,
                "sha256": manifest.get("sha256"),
                "source": manifest.get("source"),
                "source_path": manifest.get("source_path"),
                "rows": manifest.get("rows"),
                "arrived_at": manifest.get("arrived_at"),
                "partitions": manifest.get("partitions"),
            }
        )
    decision = materialization_record(instance, PRODUCTION_MODEL, partition)
    decided = _step(decision, "decision", "reason", "gain_ci_lower", "gain_ci_upper")
    if decided is not None:
        decided["promotion_gate_passed"] = latest_check_passed(
            instance, PRODUCTION_MODEL, PROMOTION_GATE, partition
        )
    return {
        "model": {
            "name": registry.registered_model,
            "version": version,
            "family": tags.get(FAMILY_TAG),
            "feature_set_id": tags.get(FEATURE_SET_TAG),
            "selected_features": tags.get("ct.selected_features"),
            "split": {
                "strategy": tags.get("ct.split_strategy"),
                "warnings": tags.get("ct.split_warnings"),
            },
            "code_version": tags.get("ct.code_version"),
            "dagster_run_id": tags.get("ct.dagster_run_id"),
            "promoted_at": tags.get("ct.promoted_at"),
            "promotion_reason": tags.get("ct.promotion_reason"),
        },
        "champion_moves": [
            m for m in registry.history() if version in (m.get("to"), m.get("from"))
        ],
        "decision": decided,
        "evaluation": _step(
            materialization_record(instance, MODEL_EVALUATIONS, partition),
            "holdout_rows",
            "champion_version",
            "champion_roc_auc",
            "best_candidate_roc_auc",
        ),
        "candidates": _step(
            materialization_record(instance, CANDIDATE_MODELS, partition), "model_versions"
        ),
        "training_window": _step(
            window,
            "partitions",
            "missing_partitions",
            "train_rows",
            "holdout_rows",
            "holdout_cutoff",
        ),
        "partitions": data,
        "raw_batches": batches,
    }


def as_tree(lineage: dict[str, Any]) -> Tree:
    model = lineage["model"]
    tree = Tree(
        f"[bold]{model['name']} v{model['version']}[/] ({model['family']}, "
        f"feature set {model['feature_set_id']}, code {model['code_version']})"
    )
    if lineage["decision"]:
        d = lineage["decision"]
        tree.add(
            f"decision: {d.get('decision')} — {d.get('reason')} (gate passed: "
            f"{d.get('promotion_gate_passed')})"
        )
    for move in lineage["champion_moves"]:
        tree.add(
            f"{move['kind']} v{move.get('from')} → v{move['to']} at {move['at']}: {move['reason']}"
        )
    if lineage["evaluation"]:
        e = lineage["evaluation"]
        tree.add(
            f"evaluation: holdout {e.get('holdout_rows')} rows, champion "
            f"v{e.get('champion_version')} (run {e['run_id'][:8]})"
        )
    if lineage["training_window"]:
        w = lineage["training_window"]
        tree.add(
            f"training_window: {w.get('partitions')} (train {w.get('train_rows')}, "
            f"holdout {w.get('holdout_rows')}; code {w['code_version']})"
        )
    parts = tree.add("partitions")
    for partition, steps in lineage["partitions"].items():
        branch = parts.add(partition)
        for step in DATA_STEPS:
            info = steps.get(step)
            if info is None:
                branch.add(f"{step}: not materialized before training")
                continue
            rows = info.get("dagster/row_count")
            branch.add(
                f"{step}: {rows} rows, code {info['code_version']}, run "
                f"{info['run_id'][:8]} at {info['at']}"
            )
        branch.add(f"events_match_schema passed: {steps['schema_check_passed']}")
    raw = tree.add("raw batches")
    for batch in lineage["raw_batches"]:
        raw.add(
            f"{batch['batch_id']} sha256 {batch['sha256']} from {batch['source']} "
            f"{batch['source_path']} ({batch['rows']} rows, arrived {batch['arrived_at']})"
        )
    return tree
