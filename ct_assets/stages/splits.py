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
from ct_assets.names import CHAMPION_PERFORMANCE, TRAINING_WINDOW
from ct_assets.partitions import frames_by_partition
from ct_assets.project.load import Project
from ct_assets.stages.common import after_window_upstream, stage_asset


def build_splits(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    training = project.spec.training
    every_partition = "every_partition" in project.spec.policy.retrain.triggers

    @stage_asset(
        TRAINING_WINDOW,
        group="splits",
        partitions=partitions,
        project=project,
        code_version="2",
        kinds={"pandas", "parquet"},
        # Every partition retrains only when declared; otherwise the retrain sensor asks.
        automation=after_window_upstream() if every_partition else None,
        # Test then train: the champion scores this partition before its retrain can replace it.
        deps=[CHAMPION_PERFORMANCE],
        ins={
            "features": dg.AssetIn(
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-(training.window - 1)
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
            features, training.holdout_fraction, training.split, training.seed, training.max_rows
        )
        warnings = split_warnings(window, training.split)
        for warning in warnings:
            context.log.warning(f"split {training.split}: {warning}")
        expected = expected_partitions(
            partitions.get_partition_keys(), context.partition_key, training.window
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
                "label_mean": summary.label_mean,
                "split_strategy": training.split,
                "split_warnings": "\n".join(warnings) or "none",
            },
        )

    return [training_window]
