"""Reading what the pipeline recorded in a Dagster instance: metadata and check outcomes."""

from __future__ import annotations

from typing import Any

import dagster as dg


def latest_metadata(
    instance: dg.DagsterInstance, asset: dg.AssetKey | str, partition: str
) -> dict[str, Any] | None:
    """Metadata of the newest materialization of one asset partition, as plain values."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey.from_coercible(asset), asset_partitions=[partition]
        ),
        limit=1,
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def latest_check(
    instance: dg.DagsterInstance, asset: dg.AssetKey | str, check: str, partition: str
) -> dict[str, Any] | None:
    """The newest evaluation of a check on one partition: passed, description and metadata
    as plain values (None: never ran)."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey.from_coercible(asset), check), limit=100
    )
    for record in records:  # newest first
        if record.partition != partition or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data  # type: ignore[union-attr]
        return {
            "passed": bool(evaluation.passed),  # type: ignore[union-attr]
            "description": evaluation.description,  # type: ignore[union-attr]
            "metadata": {k: v.value for k, v in evaluation.metadata.items()},  # type: ignore[union-attr]
        }
    return None


def latest_check_passed(
    instance: dg.DagsterInstance, asset: dg.AssetKey | str, check: str, partition: str
) -> bool | None:
    """Whether the newest evaluation of a check on one partition passed (None: never ran)."""
    found = latest_check(instance, asset, check, partition)
    return None if found is None else found["passed"]


def materialization_record(
    instance: dg.DagsterInstance,
    asset: dg.AssetKey | str,
    partition: str,
    before: float | None = None,
) -> dict[str, Any] | None:
    """The newest materialization of one asset partition (before a time, if given): when, by
    which run, with which code version, and its metadata."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey.from_coercible(asset),
            asset_partitions=[partition],
            before_timestamp=before,
        ),
        limit=1,
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    record = records[0]
    materialization = record.asset_materialization
    assert materialization is not None
    return {
        "asset": asset,
        "partition": partition,
        "run_id": record.run_id,
        "at": record.timestamp,
        "code_version": (materialization.tags or {}).get("dagster/code_version"),
        "metadata": {k: v.value for k, v in materialization.metadata.items()},
    }
