"""The one time-window partitioning every stage shares, built from the settings."""

from __future__ import annotations

import dagster as dg

from ct_assets.settings import PipelineSettings


def build_partitions(settings: PipelineSettings) -> dg.TimeWindowPartitionsDefinition:
    if settings.granularity == "hourly":
        return dg.HourlyPartitionsDefinition(start_date=f"{settings.partition_start}-00:00")
    if settings.granularity == "weekly":
        return dg.WeeklyPartitionsDefinition(start_date=settings.partition_start)
    return dg.DailyPartitionsDefinition(start_date=settings.partition_start)
