"""Batch scoring: every row of a features partition scored by the champion, version per row."""

import time

import dagster as dg
import pandas as pd

from ct_assets.ml.frames import FEATURE_SET
from ct_assets.names import BATCH_PREDICTIONS, CHAMPION_PERFORMANCE, PRODUCTION_MODEL
from ct_assets.project.load import Project
from ct_assets.stages.common import after_upstream, stage_asset
from resources.mlflow_registry import MlflowRegistry


def build_scoring(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    every_partition = "every_partition" in spec.policy.retrain.triggers

    @stage_asset(
        BATCH_PREDICTIONS,
        group="monitoring",
        partitions=partitions,
        project=project,
        code_version="1",
        kinds={"mlflow", "parquet"},
        automation=after_upstream(),
        # When every partition is retrained, scored once its decision is made (with the
        # champion it leaves); otherwise after the champion's own score of the partition,
        # since a decision may never come.
        deps=[PRODUCTION_MODEL if every_partition else CHAMPION_PERFORMANCE],
    )
    def batch_predictions(
        context: dg.AssetExecutionContext, features: pd.DataFrame, mlflow: MlflowRegistry
    ) -> dg.MaterializeResult[pd.DataFrame]:
        """The partition's rows scored by the champion, with the version that scored each."""
        from ct_assets.ml.scoring import score_frame, unscored

        version = mlflow.champion_version()
        if version is None:
            # Every candidate so far was refused: nothing scores, and the partition says so.
            context.log.warning("no champion yet: no row scored")
            return dg.MaterializeResult(
                value=unscored(features),
                metadata={"dagster/row_count": 0, "rows": 0, "model_version": "none"},
            )
        family, model = mlflow.load_for(version, str(features[FEATURE_SET].iloc[0]))
        started = time.perf_counter()
        scored = score_frame(family, model, features, version)
        seconds = max(time.perf_counter() - started, 1e-9)
        return dg.MaterializeResult(
            value=scored,
            metadata={
                "dagster/row_count": len(scored),
                "rows": len(scored),
                "model_version": version,
                "model_family": family,
                "feature_set_id": str(features[FEATURE_SET].iloc[0]),
                "rows_per_second": round(len(scored) / seconds, 1),
            },
        )

    return [batch_predictions]
