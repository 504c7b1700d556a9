"""`ct lineage model VERSION` and `ct lineage prediction REQUEST_ID`: from a model version (or
a served prediction, through the version that answered it) back to the bytes it was trained on.

Built from the MLflow registry (what the version was trained on) and Dagster's event log (which
run produced each step, with which code version and what it recorded), as of the training run.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
from rich.tree import Tree

from ct_assets.ml import gates
from ct_assets.ml.tags import (
    PARTITION_TAG,
    Chain,
    ModelLineage,
    Promotion,
    Provenance,
    Registration,
)
from ct_assets.names import (
    CANDIDATE_MODELS,
    FEATURES,
    LONE,
    MODEL_EVALUATIONS,
    PRODUCTION_MODEL,
    PROMOTION_GATE,
    RAW_BATCHES,
    SCHEMA_CHECK,
    TRAINING_WINDOW,
    VALIDATED_BATCHES,
    Namespace,
    gate_check_name,
)
from ct_assets.reads.observe import latest_check_passed, materialization_record
from resources.mlflow_registry import MlflowRegistry
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


def shown(names: list[str] | None, separator: str, empty: str = "") -> str | None:
    """Names as one line of the lineage, as their tag reads (None: the tag is missing)."""
    return None if names is None else separator.join(names) or empty


def chain_of(registry: MlflowRegistry, version: str) -> list[tuple[str, dict[str, str]]]:
    """The version, then the champion it continued from, and so on to a full retrain."""
    from mlflow.exceptions import MlflowException

    chain: list[tuple[str, dict[str, str]]] = []
    current: str | None = version
    while current and current not in {v for v, _ in chain}:
        try:
            tags = registry.version_tags(current)
        except MlflowException as exc:
            # No such version (or no registered model yet), or not a version number at all.
            if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            tags = {}
        if not tags:
            raise LookupError(f"{registry.registered_model} has no version {current}")
        chain.append((current, tags))
        current = Chain.of(tags).continued_from
    return chain


def partition_steps(
    instance: dg.DagsterInstance,
    partition: str,
    cutoff: float | None,
    namespace: Namespace = LONE,
) -> dict[str, Any]:
    steps: dict[str, Any] = {
        step: _step(
            materialization_record(instance, namespace.key(step), partition, cutoff),
            "dagster/row_count",
            "batch_ids",
            "accepted_batch_ids",
            "quarantined_batch_ids",
            "feature_set_id",
        )
        for step in DATA_STEPS
    }
    steps["schema_check_passed"] = latest_check_passed(
        instance, namespace.key(VALIDATED_BATCHES), SCHEMA_CHECK, partition
    )
    return steps


def training_cutoff(instance: dg.DagsterInstance, tags: dict[str, str]) -> float | None:
    """The end of the run that trained a version: the data is read as it was then (the same
    run may have produced the upstream steps too), not as it may have been re-run since."""
    run_id = Provenance.of(tags).dagster_run_id
    if run_id is None:
        # No ct run trained it (a version forced in by an operator, `ct.forced` says why): its
        # data is read as it stands.
        return None
    run = instance.get_run_record_by_id(run_id)
    return run.end_time if run and run.end_time else None


def model_lineage(
    instance: dg.DagsterInstance,
    registry: MlflowRegistry,
    store: BatchStore,
    version: str,
    namespace: Namespace = LONE,
) -> dict[str, Any]:
    """Everything an auditor asks about one model version, as plain data, read from the
    assets of the project's namespace.

    An incremental version learnt from its own rows and from everything its base learnt, so
    the chain is followed back to its full retrain, each partition read as of the training of
    the version that consumed it.
    """
    key = namespace.key
    chain = chain_of(registry, version)
    tags = chain[0][1]
    partition = ModelLineage.of(tags).partition
    if partition is None:
        raise KeyError(f"model version {version} has no {PARTITION_TAG} tag: ct did not train it")
    window = materialization_record(
        instance, key(TRAINING_WINDOW), partition, training_cutoff(instance, tags)
    )
    data: dict[str, dict[str, Any]] = {}
    trained: list[dict[str, Any]] = []
    for member, member_tags in chain:
        cutoff = training_cutoff(instance, member_tags)
        learnt = ModelLineage.of(member_tags)
        chained = Chain.of(member_tags)
        # A refresh consumed only its step's partitions; a full retrain, all it learnt from.
        step = chained.step_partitions or learnt.training_partitions
        trained.append(
            {
                "version": member,
                "mode": chained.mode,
                "partition": learnt.partition,
                "partitions": step,
                "continued_from": chained.continued_from,
            }
        )
        for p in step:
            steps = partition_steps(instance, p, cutoff, namespace)
            data.setdefault(p, {"trained_by": member, **steps})
    batches = []
    for batch_id in ModelLineage.of(tags).batch_ids:
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
    decision = materialization_record(instance, key(PRODUCTION_MODEL), partition)
    decided = _step(decision, "decision", "reason", "margin_gain_ci_lower", "margin_gain_ci_upper")
    if decided is not None:
        decided["promotion_gate_passed"] = latest_check_passed(
            instance, key(PRODUCTION_MODEL), PROMOTION_GATE, partition
        )
        decided["gates"] = {
            gate: latest_check_passed(
                instance, key(PRODUCTION_MODEL), gate_check_name(gate), partition
            )
            for gate in gates.names()
        }
    made, promoted = Provenance.of(tags), Promotion.of(tags)
    return {
        "model": {
            "name": registry.registered_model,
            "version": version,
            "family": Registration.of(tags).family,
            "feature_set_id": made.feature_set_id,
            "selected_features": shown(made.selected_features, ","),
            "split": {
                "strategy": made.split_strategy,
                "warnings": shown(made.split_warnings, " | ", "none"),
            },
            "code_version": made.code_version,
            "dagster_run_id": made.dagster_run_id,
            "promoted_at": promoted.promoted_at,
            "promotion_reason": promoted.reason,
        },
        "trained": trained,
        "champion_moves": [
            m for m in registry.history() if version in (m.get("to"), m.get("from"))
        ],
        "decision": decided,
        "evaluation": _step(
            materialization_record(instance, key(MODEL_EVALUATIONS), partition),
            "holdout_rows",
            "champion_version",
            "metric",
            "best_candidate_version",
        ),
        "candidates": _step(
            materialization_record(instance, key(CANDIDATE_MODELS), partition),
            "model_versions",
        ),
        "training_window": _step(
            window,
            "partitions",
            "missing_partitions",
            "train_rows",
            "holdout_rows",
            "holdout_cutoff",
        ),
        "partitions": dict(sorted(data.items())),
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
        decided = tree.add(
            f"decision: {d.get('decision')} — {d.get('reason')} (gate passed: "
            f"{d.get('promotion_gate_passed')})"
        )
        for gate, passed in d.get("gates", {}).items():
            decided.add(f"{gate} gate passed: {passed}")
    for member in lineage["trained"]:
        base = f", continued from v{member['continued_from']}" if member["continued_from"] else ""
        tree.add(
            f"v{member['version']} trained ({member['mode']}{base}) at {member['partition']} on "
            f"{', '.join(member['partitions'])}"
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
        branch = parts.add(f"{partition} (trained into v{steps['trained_by']})")
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


def prediction_lineage(
    instance: dg.DagsterInstance,
    registry: MlflowRegistry,
    store: BatchStore,
    request_id: str,
    rows: list[dict[str, Any]],
    namespace: Namespace = LONE,
) -> dict[str, Any]:
    """From a logged request (its rows, as `predictions.find_request` read them from the log)
    back to the data of the model version that answered it.

    Raises LookupError when the log held no row of the request.
    """
    from ct_assets.io.predictions import ANSWER

    if not rows:
        raise LookupError(f"no logged prediction has request id {request_id!r}")
    answered = [r for r in rows if r["role"] == ANSWER]
    shadow = [r for r in rows if r["role"] != ANSWER]
    versions = sorted({str(r["model_version"]) for r in answered}, key=_as_number)
    models = {v: model_lineage(instance, registry, store, v, namespace) for v in versions}
    return {
        "request_id": request_id,
        "answers": [_logged(r) for r in answered],
        "shadow": [_logged(r) for r in shadow],
        "answered_by": versions,
        "shadow_versions": sorted({str(r["model_version"]) for r in shadow}, key=_as_number),
        "models": models,
    }


def _as_number(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (1 << 62, version)


def _logged(row: dict[str, Any]) -> dict[str, Any]:
    shown = ("row", "time", "partition", "model_version", "route", "feature_set_id", "output")
    return {k: row.get(k) for k in shown}


def prediction_tree(lineage: dict[str, Any]) -> Tree:
    tree = Tree(f"[bold]request {lineage['request_id']}[/]")
    for answer in lineage["answers"]:
        tree.add(
            f"row {answer['row']}: v{answer['model_version']} ({answer['route']}) answered "
            f"{answer['output']} at {answer['time']} (partition {answer['partition']})"
        )
    for scored in lineage["shadow"]:
        tree.add(
            f"row {scored['row']}: v{scored['model_version']} scored {scored['output']} in shadow"
        )
    for model in lineage["models"].values():
        tree.add(as_tree(model))
    return tree
