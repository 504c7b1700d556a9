"""Stage 3, features: the model's inputs, one row per validated event."""

import dagster as dg
import pandas as pd

from ct_assets.ml.features import FEATURE_COLUMNS, build_features
from sensors.automation import after_upstream

FEATURES = "features"


def build_feature_assets(
    partitions: dg.TimeWindowPartitionsDefinition,
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=FEATURES,
        partitions_def=partitions,
        group_name="features",
        code_version="1",
        kinds={"pandas", "parquet"},
        automation_condition=after_upstream(),
    )
    def features(validated_batches: pd.DataFrame) -> dg.MaterializeResult[pd.DataFrame]:
        """Per-event features (amount, basket, account age, time of day, channel, country)."""
        frame = build_features(validated_batches)
        return dg.MaterializeResult(
            value=frame,
            metadata={
                "dagster/row_count": len(frame),
                "feature_columns": ", ".join(FEATURE_COLUMNS),
                "batch_ids": ", ".join(sorted(frame["batch_id"].unique())),
            },
        )

    return [features]
