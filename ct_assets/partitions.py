"""The one time-window partitioning every stage shares, built from the settings."""

from __future__ import annotations

import warnings
from typing import Any

import dagster as dg

from ct_assets.settings import PipelineSettings


def build_partitions(settings: PipelineSettings) -> dg.TimeWindowPartitionsDefinition:
    if settings.granularity == "hourly":
        return dg.HourlyPartitionsDefinition(start_date=f"{settings.partition_start}-00:00")
    if settings.granularity == "weekly":
        return dg.WeeklyPartitionsDefinition(start_date=settings.partition_start)
    return dg.DailyPartitionsDefinition(start_date=settings.partition_start)


def partitioned_check(
    name: str, asset: str, partitions: dg.PartitionsDefinition, **kwargs: Any
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
