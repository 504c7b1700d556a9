"""What happened to each partition of a project, read from its instance and raw store.

The one table `ct status` prints and `ct demo` ends with: landed, quarantined (with why),
features, candidates, the decision, and the champion after it with its holdout metric; and
the line per project of a fleet's status, summed up from that table. Every asset is read
under the project's namespace (bare for a lone install).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
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
    DRIFT_CHECK,
    FEATURE_DRIFT,
    FEATURES,
    FILE_DROP,
    LONE,
    MODEL_EVALUATIONS,
    PRODUCTION_MODEL,
    RAW_BATCHES,
    TRIGGER_TAG,
    VALIDATED_BATCHES,
    Namespace,
)
from ct_assets.project.spec import ProjectSpec
from ct_assets.reads.observe import latest_check_passed, latest_metadata, materialization_record

SHOWN = (RAW_BATCHES, VALIDATED_BATCHES, FEATURES, CANDIDATE_MODELS, PRODUCTION_MODEL)


def partition_row(
    instance: dg.DagsterInstance,
    spec: ProjectSpec,
    partition: str,
    quarantined: list[dict[str, Any]],
    namespace: Namespace = LONE,
) -> dict[str, Any]:
    metric = spec.metric

    def latest(asset: str) -> dict[str, Any] | None:
        return latest_metadata(instance, namespace.key(asset), partition)

    raw = RawBatches.from_metadata(latest(RAW_BATCHES))
    validated = ValidatedRows.from_metadata(latest(VALIDATED_BATCHES))
    features = FeatureRows.from_metadata(latest(FEATURES))
    candidates = Registered.from_metadata(latest(CANDIDATE_MODELS))
    evaluation = Evaluated.from_metadata(latest(MODEL_EVALUATIONS))
    decided = materialization_record(instance, namespace.key(PRODUCTION_MODEL), partition)
    decision = Decided.from_metadata(None if decided is None else decided["metadata"])
    drift = DriftSummary.from_metadata(latest(FEATURE_DRIFT))
    live = LiveScore.from_metadata(latest(CHAMPION_PERFORMANCE))
    champion_metric = None if decision is None else _number(decision.serving_figure)
    drift_passed = (
        None
        if drift is None
        else latest_check_passed(instance, namespace.key(FEATURE_DRIFT), DRIFT_CHECK, partition)
    )
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
        # True: the drift check failed on the partition (None: not judged).
        "drift_exceeded": None if drift_passed is None else not drift_passed,
        "decision": None if decision is None else decision.decision,
        "decided_at": None if decision is None or decided is None else _moment(decided["at"]),
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
        "retrain_trigger": retrain_trigger(instance, decided),
    }


def _moment(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


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


def retrain_trigger(instance: dg.DagsterInstance, record: dict[str, Any] | None) -> str | None:
    """What started the run that took a partition's promotion decision (its materialization
    `record`; None: automation or by hand, untagged)."""
    if record is None or record["run_id"] is None:
        return None
    run = instance.get_run_by_id(record["run_id"])
    return None if run is None else run.tags.get(TRIGGER_TAG)


def champion_moves(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Promotions and rollbacks of the champion, oldest first, with their reasons."""
    return [{k: move.get(k) for k in ("kind", "at", "from", "to", "reason")} for move in history]


def project_status(
    instance: dg.DagsterInstance,
    spec: ProjectSpec,
    quarantine: list[dict[str, Any]],
    namespace: Namespace = LONE,
) -> list[dict[str, Any]]:
    """One row per partition that received data, oldest first."""
    keys: set[str] = set()
    for asset in SHOWN:
        keys |= set(instance.get_materialized_partitions(namespace.key(asset)))
    held: dict[str, list[dict[str, Any]]] = {}
    for record in quarantine:
        for partition in record.get("partitions", []):
            held.setdefault(str(partition), []).append(record)
            keys.add(str(partition))
    return [partition_row(instance, spec, k, held.get(k, []), namespace) for k in sorted(keys)]


# What Dagster's freshness daemon judges an asset (its policy's windows), as status shows it.
OVERDUE = ("warn", "fail")


def watched_keys(namespace: Namespace, pulled: list[str]) -> dict[str, dg.AssetKey]:
    """The assets of a project that carry a freshness policy: its sources (the landing folder
    and each pulled source), raw and validated batches, and the production model."""
    sources = {f"sources/{name}": namespace.source(name) for name in [FILE_DROP, *pulled]}
    stages = {name: namespace.key(name) for name in (RAW_BATCHES, VALIDATED_BATCHES)}
    return {**sources, **stages, PRODUCTION_MODEL: namespace.key(PRODUCTION_MODEL)}


def freshness_states(
    instance: dg.DagsterInstance, watched: dict[str, dg.AssetKey]
) -> dict[str, str]:
    """Each watched asset's freshness as Dagster's freshness daemon last judged it (pass,
    warn, fail, unknown); one it never judged is left out."""
    records = instance.get_freshness_state_records(list(watched.values()))
    return {
        name: str(records[key].freshness_state.value).lower()
        for name, key in watched.items()
        if key in records
    }


def champion_figures(
    rows: list[dict[str, Any]], metric: str, champion: str | None
) -> tuple[float | None, float | None]:
    """The champion's holdout figure (from the decision that made it champion) and its newest
    live figure (from the newest partition it was scored on)."""
    if champion is None:
        return None, None
    holdout = next(
        (
            r[f"champion_{metric}"]
            for r in reversed(rows)
            if r.get("champion") == champion and r.get(f"champion_{metric}") is not None
        ),
        None,
    )
    if holdout is None:  # promoted before these rows (or by hand): its live baseline says it
        holdout = next(
            (
                r[f"live_baseline_{metric}"]
                for r in reversed(rows)
                if r.get("live_champion") == champion and r.get(f"live_baseline_{metric}")
            ),
            None,
        )
    live = next(
        (
            r[f"live_{metric}"]
            for r in reversed(rows)
            if r.get("live_champion") == champion and r.get(f"live_{metric}") is not None
        ),
        None,
    )
    return holdout, live


def alerts(rows: list[dict[str, Any]], metric: str, freshness: dict[str, str]) -> list[str]:
    """What needs a look, as the newest judgement of each says it: the champion's live checks
    (degraded, its holdout missing live, a label shift) on the newest partition it was scored
    on, the drift check on the newest partition judged, and every asset overdue."""
    found: list[str] = []
    live = next((r for r in reversed(rows) if r.get("live_champion") not in (None, "none")), None)
    if live is not None:
        for key, words in (
            ("live_degraded", f"live {metric} degraded"),
            ("evaluation_gap_exceeded", "holdout missed live"),
            ("label_shifted", "label shift"),
        ):
            if live.get(key):
                found.append(f"{words} on {live['partition']} (v{live['live_champion']})")
    drift = next((r for r in reversed(rows) if r.get("drift_exceeded") is not None), None)
    if drift is not None and drift["drift_exceeded"]:
        found.append(f"drift {drift['drift_share']:.2f} on {drift['partition']}")
    found += [f"{name} overdue ({state})" for name, state in freshness.items() if state in OVERDUE]
    return found


def project_summary(status: dict[str, Any]) -> dict[str, Any]:
    """One project of a fleet as one line, from its full status (`ct status`'s dict): its
    champion with its holdout and live figures, its last decision and when, its quarantine,
    its alerts, how far its data goes, whether its daemon runs."""
    rows: list[dict[str, Any]] = status["partitions"]
    metric = status["metric"]
    holdout, live = champion_figures(rows, metric, status["champion"])
    decided = next((r for r in reversed(rows) if r.get("decision")), None)
    freshness: dict[str, str] = status.get("freshness", {})
    batches = {q["batch_id"] for r in rows for q in r["quarantined"]}
    return {
        "project": status["project"],
        "task": status["task"],
        "metric": metric,
        "registered_model": status["registered_model"],
        "champion": status["champion"],
        "holdout": holdout,
        "live": live,
        "last_decision": None
        if decided is None
        else {
            "partition": decided["partition"],
            "decision": decided["decision"],
            "reason": decided["reason"],
            "at": decided.get("decided_at"),
        },
        "quarantined_batches": len(batches),
        "alerts": alerts(rows, metric, freshness),
        "newest_partition": max(
            (r["partition"] for r in rows if r.get("features") is not None), default=None
        ),
        "overdue": sorted(name for name, state in freshness.items() if state in OVERDUE),
        "daemon_running": bool(status["daemon"]["running"]),
    }
