"""Stage 6, evaluations: candidates and the champion scored on the same holdout."""

from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.evaluation import score
from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.features import FEATURE_SET
from ct_assets.ml.schema import LABEL
from ct_assets.ml.training import predict_proba
from ct_assets.ml.windows import HOLDOUT, SPLIT
from resources.mlflow_registry import MlflowRegistry
from sensors.automation import after_upstream

MODEL_EVALUATIONS = "model_evaluations"


def score_version(mlflow: MlflowRegistry, version: str, holdout: pd.DataFrame) -> dict[str, Any]:
    """Load a version as registered (not as trained in memory) and score it.

    Raises FeatureSetMismatch when the version was trained on other feature definitions.
    """
    family, model = mlflow.load_for(version, str(holdout[FEATURE_SET].iloc[0]))
    metrics = score(holdout[LABEL].to_numpy(), predict_proba(family, model, holdout))
    return {"version": version, "family": family, **metrics}


def build_evaluations(
    partitions: dg.TimeWindowPartitionsDefinition,
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=MODEL_EVALUATIONS,
        partitions_def=partitions,
        group_name="evaluations",
        code_version="1",
        kinds={"mlflow"},
        io_manager_key="json_io_manager",
        automation_condition=after_upstream(),
    )
    def model_evaluations(
        context: dg.AssetExecutionContext,
        candidate_models: list[dict[str, Any]],
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
    ) -> dg.MaterializeResult[dict[str, Any]]:
        """Every candidate and the current champion, scored on the window's holdout."""
        holdout = training_window[training_window[SPLIT] == HOLDOUT]
        candidates = [score_version(mlflow, c["version"], holdout) for c in candidate_models]
        champion_version = mlflow.champion_version()
        champion, incomparable = None, None
        if champion_version:
            try:
                champion = score_version(mlflow, champion_version, holdout)
            except FeatureSetMismatch as exc:
                # New feature definitions: the champion cannot read these features at all.
                context.log.warning(str(exc))
                incomparable = {"version": champion_version, "reason": str(exc)}
        rows = [{"role": "candidate", **c} for c in candidates]
        if champion:
            rows.append({"role": "champion", **champion})
        table = pd.DataFrame(rows)[["role", "version", "family", "roc_auc", "log_loss"]]
        result = {
            "holdout_rows": len(holdout),
            "candidates": candidates,
            "champion": champion,
            "champion_incomparable": incomparable,
        }
        return dg.MaterializeResult(
            value=result,
            metadata={
                "comparison": dg.MetadataValue.md(table.to_markdown(index=False)),
                "holdout_rows": len(holdout),
                "best_candidate_roc_auc": max(c["roc_auc"] for c in candidates),
                "champion_version": champion_version or "none",
                "feature_set_id": str(holdout[FEATURE_SET].iloc[0]),
                "champion_roc_auc": champion["roc_auc"] if champion else float("nan"),
            },
        )

    return [model_evaluations]
