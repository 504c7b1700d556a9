"""What happened to each partition of a project, read from its instance and raw store.

The one table `ct status` prints and `ct demo` ends with: landed, quarantined (with why),
features, candidates, the decision, and the champion after it with its holdout metric.
"""

from __future__ import annotations

import math
from typing import Any

import dagster as dg

from ct_assets.ml.records import (
    NONE,
    Decided,
    DriftSummary,
    Evaluated,
    FeatureRows,
    LiveScore,
    RawBatches,
    Registered,
    ValidatedRows,
)
from ct_assets.ml.vocabulary import METRIC
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
from ct_assets.project.spec import ProjectSpec
from ct_assets.reads.observe import latest_metadata, materialization_record

SHOWN = (RAW_BATCHES, VALIDATED_BATCHES, FEATURES, CANDIDATE_MODELS, PRODUCTION_MODEL)


def partition_row(
    instance: dg.DagsterInstance,
    spec: ProjectSpec,
    partition: str,
    quarantined: list[dict[str, Any]],
) -> dict[str, Any]:
    metric = spec.metric
    raw = RawBatches.from_metadata(latest_metadata(instance, RAW_BATCHES, partition))
    validated = ValidatedRows.from_metadata(latest_metadata(instance, VALIDATED_BATCHES, partition))
    features = FeatureRows.from_metadata(latest_metadata(instance, FEATURES, partition))
    candidates = Registered.from_metadata(latest_metadata(instance, CANDIDATE_MODELS, partition))
    evaluation = Evaluated.from_metadata(latest_metadata(instance, MODEL_EVALUATIONS, partition))
    decision = Decided.from_metadata(latest_metadata(instance, PRODUCTION_MODEL, partition))
    drift = DriftSummary.from_metadata(latest_metadata(instance, FEATURE_DRIFT, partition))
    live = LiveScore.from_metadata(latest_metadata(instance, CHAMPION_PERFORMANCE, partition))
    champion_metric = None if decision is None else _number(decision.serving_figure)
    return {
        "partition": partition,
        "batches": 0 if raw is None else len(raw.batch_ids),
        "rows": None if validated is None else validated.validated,
        # Every row delivered for the partition: validated (rows) + set aside + refused whole.
        "rows_delivered": None if validated is None else validated.delivered,
        "rows_set_aside": None if validated is None else validated.set_aside,
        "rows_refused": None if validated is None else validated.refused,
        "quarantined": [
            {
                "batch_id": q["batch_id"],
                "file": q.get("file"),
                "rules": q.get("rules", []),
                "reason": q.get("reason", ""),
                # refused (the whole file) or set_aside (some rows; the rest went on)
                "kind": q.get("kind", "refused"),
                "rows_set_aside": q.get("rows_set_aside"),
            }
            for q in quarantined
        ],
        "features": None if features is None else features.rows,
        "unseen_category_rows": None if features is None else features.unseen_category_rows,
        "candidates": [] if candidates is None else [candidates.version],
        f"best_candidate_{metric}": None if evaluation is None else _number(evaluation.best),
        "drift_share": None if drift is None else drift.share,
        "decision": None if decision is None else decision.decision,
        "reason": None if decision is None else decision.reason,
        "champion": None if decision is None else decision.champion_after or NONE,
        f"champion_{metric}": champion_metric,
        # The champion as it stood before this partition's retrain, scored on its rows, its
        # holdout figure at promotion, and the live checks' verdicts (True: failed).
        "live_champion": None if live is None else live.champion_version or NONE,
        f"live_{metric}": None if live is None else _number(live.champion),
        f"live_baseline_{metric}": None if live is None else _number(live.baseline),
        "live_degraded": None if live is None else live.live_degraded,
        "evaluation_gap_exceeded": None if live is None else live.gap_exceeded,
        "label_shifted": None if live is None else live.label_shifted,
        "window": None if candidates is None else candidates.winner,
        "retrain_trigger": retrain_trigger(instance, partition),
    }


def _number(value: Any) -> float | None:
    """A figure as a float; None where it is missing or NaN (JSON has no NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def champions(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Per champion, in the order they served: its holdout figure at promotion against its live
    figures on the partitions it scored (the first one, and all of them), and the verdict on
    the evaluation that promoted it."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        version, live = row.get("live_champion"), row.get(f"live_{metric}")
        if version in (None, "none") or live is None:
            continue
        entry = out.setdefault(
            str(version),
            {
                "version": str(version),
                "holdout": row.get(f"live_baseline_{metric}"),
                "first_live_partition": row["partition"],
                "first_live": live,
                "partitions": 0,
                "live_values": [],
                "evaluation_gap_exceeded": False,
                "live_degraded_partitions": [],
            },
        )
        entry["partitions"] += 1
        entry["live_values"].append(live)
        entry["evaluation_gap_exceeded"] |= bool(row.get("evaluation_gap_exceeded"))
        if row.get("live_degraded"):
            entry["live_degraded_partitions"].append(row["partition"])
    for entry in out.values():
        values = entry.pop("live_values")
        entry["live_mean"] = round(sum(values) / len(values), 6)
        holdout = entry["holdout"]
        entry["first_gap"] = (
            None
            if holdout is None
            else round(float(METRIC[metric].improvement(holdout, entry["first_live"])), 6)
        )
    return list(out.values())


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
