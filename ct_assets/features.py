"""Stage 3, features: the model's inputs, one row per validated event, point-in-time correct.

Window features read the partitions before this one, as far back as the longest window, through
a partition mapping: each event's aggregates use only its entity's earlier events.
"""

import math
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.features import (
    CODE_VERSION,
    FEATURE_COLUMNS,
    FEATURE_SET_ID,
    SPEC,
    build_features,
)
from ct_assets.partitions import frames_by_partition
from ct_assets.settings import PipelineSettings
from sensors.automation import after_history_upstream

FEATURES = "features"
PARTITION_LENGTH = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
}


def lookback_partitions(settings: PipelineSettings) -> int:
    """Earlier partitions the longest window can reach into."""
    return math.ceil(SPEC.lookback / PARTITION_LENGTH[settings.granularity])


def build_feature_assets(
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=FEATURES,
        partitions_def=partitions,
        group_name="features",
        code_version=CODE_VERSION,
        kinds={"polars", "parquet"},
        automation_condition=after_history_upstream(),
        ins={
            "validated_batches": dg.AssetIn(
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-lookback_partitions(settings)
                ),
                # History may have gaps (no delivery, or refused); windows then see less of it.
                metadata={"allow_missing_partitions": True},
            )
        },
    )
    def features(
        context: dg.AssetExecutionContext, validated_batches: Any
    ) -> dg.MaterializeResult[pd.DataFrame]:
        """Per-event features: the event's own and its entity's 1h/1d/7d history before it."""
        parts: dict[str, pd.DataFrame] = frames_by_partition(
            context, "validated_batches", validated_batches
        )
        key = context.partition_key
        events = parts.get(key)
        if events is None or events.empty:
            # Every batch of the day is in quarantine: the stages after this one must not run
            # on an empty day, and the UI should say why.
            raise dg.Failure(
                f"{key} has no valid events: its batches are in quarantine "
                "(`ct quarantine list`); nothing to compute until one is re-admitted",
                allow_retries=False,
            )
        earlier = [frame for k, frame in sorted(parts.items()) if k < key and not frame.empty]
        history = pd.concat(earlier, ignore_index=True) if earlier else None
        frame = build_features(events, history)
        return dg.MaterializeResult(
            value=frame,
            metadata={
                "dagster/row_count": len(frame),
                "feature_set_id": FEATURE_SET_ID,
                "feature_columns": ", ".join(FEATURE_COLUMNS),
                "window_features": dg.MetadataValue.md(
                    pd.DataFrame(
                        [
                            {
                                "name": f.name,
                                "source": f.source,
                                "aggregation": f.aggregation,
                                "window": f.window,
                            }
                            for f in SPEC.features
                        ]
                    ).to_markdown(index=False)
                ),
                "history_partitions": ", ".join(k for k in sorted(parts) if k < key) or "none",
                "history_rows": 0 if history is None else len(history),
                "batch_ids": ", ".join(sorted(frame["batch_id"].unique())),
            },
        )

    return [features]
