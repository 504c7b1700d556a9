"""Stage 4, splits: a rolling window of recent partitions with a time-based holdout."""

from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.windows import (
    assemble_window,
    expected_partitions,
    split_warnings,
    summarize_window,
)
from ct_assets.partitions import frames_by_partition
from ct_assets.settings import PipelineSettings
from sensors.automation import after_window_upstream

TRAINING_WINDOW = "training_window"


def build_splits(
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=TRAINING_WINDOW,
        partitions_def=partitions,
        group_name="splits",
        code_version="1",
        kinds={"pandas", "parquet"},
        automation_condition=after_window_upstream(),
        ins={
            "features": dg.AssetIn(
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-(settings.training_window - 1)
                ),
                # A day whose data was quarantined has no features; the window goes on without
                # it and says so in its metadata.
                metadata={"allow_missing_partitions": True},
            )
        },
    )
    def training_window(
        context: dg.AssetExecutionContext, features: Any
    ) -> dg.MaterializeResult[pd.DataFrame]:
        """The last N partitions of features; the most recent slice in time is the holdout."""
        features = frames_by_partition(context, "features", features)
        window = assemble_window(
            features, settings.holdout_fraction, settings.split_strategy, settings.split_seed
        )
        warnings = split_warnings(window, settings.split_strategy)
        for warning in warnings:
            context.log.warning(f"split {settings.split_strategy}: {warning}")
        expected = expected_partitions(
            partitions.get_partition_keys(), context.partition_key, settings.training_window
        )
        summary = summarize_window(window, expected)
        if summary.missing:
            context.log.warning(f"window without partitions {summary.missing}")
        return dg.MaterializeResult(
            value=window,
            metadata={
                "dagster/row_count": len(window),
                "partitions": ", ".join(summary.partitions),
                "missing_partitions": ", ".join(summary.missing) or "none",
                "batch_ids": ", ".join(summary.batch_ids),
                "holdout_cutoff": summary.cutoff,
                "train_rows": summary.train_rows,
                "holdout_rows": summary.holdout_rows,
                "label_rate": summary.label_rate,
                "split_strategy": settings.split_strategy,
                "split_warnings": "\n".join(warnings) or "none",
            },
        )

    return [training_window]
