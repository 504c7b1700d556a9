"""The one time-window partitioning every stage shares, built from the project."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from ct_assets.project.spec import ProjectSpec


def build_partitions(spec: ProjectSpec) -> dg.TimeWindowPartitionsDefinition:
    """Dagster's partitions for the declared granularity (the same cron and key format as its
    Hourly, Daily and Weekly definitions, and 5- and 15-minute ones beside them)."""
    period = spec.partitions.period
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=period.cron,
        start=spec.partitions.start_time.strftime(period.key_format),
        fmt=period.key_format,
        timezone="UTC",
    )


def partitioned_check(
    name: str, asset: dg.AssetKey, partitions: dg.PartitionsDefinition, **kwargs: Any
) -> dg.AssetCheckSpec:
    """A check whose results are kept per partition.

    Without a partitions_def, a check's latest result stands for every partition, and a failure
    on one day would block automation on all days. The API is a preview in dagster 1.13; ct
    depends on it knowingly, so its warning is silenced here, once.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Specifying a partitions_def on an AssetCheckSpec"
        )
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=partitions, **kwargs)


def frames_by_partition(
    context: dg.AssetExecutionContext, input_name: str, loaded: Any
) -> dict[str, Any]:
    """An input read through a window mapping, always as partition key -> value.

    The IO manager hands over a bare value when the window holds a single partition (near the
    first partition), and a dict otherwise.
    """
    if isinstance(loaded, dict):
        return loaded
    (only,) = context.asset_partition_keys_for_input(input_name)
    return {only: loaded}


def partition_key_of(
    partitions: dg.TimeWindowPartitionsDefinition, *, in_progress: bool = False
) -> Callable[[datetime], str | None]:
    """Maps an event time to its partition (existing partitions only).

    With `in_progress`, also any partition that has begun by the time of the call, though
    Dagster creates it only when it ends: a stream delivers the events of now, they belong
    there, not in quarantine. (Judged per call: a sensor's tick can outlast a partition.)
    """
    existing = set(partitions.get_partition_keys())
    first = partitions.start

    def key_of(moment: datetime) -> str | None:
        key = partitions.get_partition_key_for_timestamp(moment.timestamp())
        if key in existing:
            return key
        begun = in_progress and first <= moment <= datetime.now(UTC)
        return key if begun else None

    return key_of
