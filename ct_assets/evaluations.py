"""Stage 6, evaluations: candidates and the champion scored on the same holdout."""

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml.evaluation import paired_bootstrap_gain, score
from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.features import FEATURE_SET
from ct_assets.ml.schema import LABEL
from ct_assets.ml.training import predict_proba
from ct_assets.ml.windows import HOLDOUT, SPLIT
from resources.mlflow_registry import MlflowRegistry
from sensors.automation import after_upstream

MODEL_EVALUATIONS = "model_evaluations"


def predict_version(
    mlflow: MlflowRegistry, version: str, holdout: pd.DataFrame
) -> tuple[str, np.ndarray]:
    """Load a version as registered (not as trained in memory) and predict the holdout.

    Raises FeatureSetMismatch when the version was trained on other feature definitions.
    """
    family, model = mlflow.load_for(version, str(holdout[FEATURE_SET].iloc[0]))
    return family, predict_proba(family, model, holdout)


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
        labels = holdout[LABEL].to_numpy()
        predicted = {
            c["version"]: predict_version(mlflow, c["version"], holdout) for c in candidate_models
        }
        candidates: list[dict[str, Any]] = [
            {"version": v, "family": family, **score(labels, proba)}
            for v, (family, proba) in predicted.items()
        ]
        champion_version = mlflow.champion_version()
        champion: dict[str, Any] | None = None
        incomparable: dict[str, str] | None = None
        if champion_version:
            try:
                family, champion_proba = predict_version(mlflow, champion_version, holdout)
                champion = {
                    "version": champion_version,
                    "family": family,
                    **score(labels, champion_proba),
                }
            except FeatureSetMismatch as exc:
                # New feature definitions: the champion cannot read these features at all.
                context.log.warning(str(exc))
                incomparable = {"version": champion_version, "reason": str(exc)}
            else:
                for candidate in candidates:
                    candidate["gain_vs_champion"] = paired_bootstrap_gain(
                        labels, predicted[candidate["version"]][1], champion_proba
                    )
        rows = [{"role": "candidate", **c} for c in candidates]
        if champion:
            rows.append({"role": "champion", **champion})
        table = pd.DataFrame(rows)[
            ["role", "version", "family", "roc_auc", "pr_auc", "log_loss", "brier"]
        ]
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
