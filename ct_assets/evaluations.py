"""Stage 6, evaluations: candidates and the champion scored on the same holdout.

The scoring and plotting libraries (scikit-learn, SciPy, matplotlib) are imported by the step,
not with the module: the code location is loaded by every run worker and sensor tick.
"""

from dataclasses import asdict
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.features import FEATURE_SET
from ct_assets.ml.infra_validation import SERVING_SAMPLE_ROWS
from ct_assets.ml.schema import LABEL
from ct_assets.ml.windows import HOLDOUT, SPLIT
from ct_assets.settings import PipelineSettings
from resources.mlflow_registry import MlflowRegistry
from resources.serving_probe import ServingProbes
from sensors.automation import after_upstream

MODEL_EVALUATIONS = "model_evaluations"


def predict_version(
    mlflow: MlflowRegistry, version: str, holdout: pd.DataFrame
) -> tuple[str, np.ndarray]:
    """Load a version as registered (not as trained in memory) and predict the holdout.

    Raises FeatureSetMismatch when the version was trained on other feature definitions.
    """
    from ct_assets.ml.training import predict_proba

    family, model = mlflow.load_for(version, str(holdout[FEATURE_SET].iloc[0]))
    return family, predict_proba(family, model, holdout)


def slices_table(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Slice rows, one ROC AUC column per model (blank where the slice is too small to judge)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for label, record in records.items():
        for s in record["slices"]:
            row = rows.setdefault(
                (s["column"], s["value"]),
                {"slice": f"{s['column']}={s['value']}", "rows": s["rows"]},
            )
            row[label] = s["roc_auc"]
    return pd.DataFrame(list(rows.values()))


def build_evaluations(
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    def evaluated(
        version: str, family: str, proba: np.ndarray, holdout: pd.DataFrame, **extra: Any
    ) -> dict[str, Any]:
        from ct_assets.ml.evaluation import score, slice_metrics

        labels = holdout[LABEL].to_numpy()
        return {
            "version": version,
            "family": family,
            **extra,
            **score(labels, proba),
            "slices": slice_metrics(
                holdout, labels, proba, settings.slice_columns, settings.slice_min_rows
            ),
        }

    @dg.asset(
        name=MODEL_EVALUATIONS,
        partitions_def=partitions,
        group_name="evaluations",
        code_version="2",
        kinds={"mlflow"},
        io_manager_key="json_io_manager",
        automation_condition=after_upstream(),
    )
    def model_evaluations(
        context: dg.AssetExecutionContext,
        candidate_models: list[dict[str, Any]],
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
        serving_probes: ServingProbes,
    ) -> dg.MaterializeResult[dict[str, Any]]:
        """Every candidate and the current champion, scored on the window's holdout."""
        from ct_assets.ml.training import inputs

        holdout = training_window[training_window[SPLIT] == HOLDOUT]
        # The infrastructure gate's fresh process, booted as the run started, loads the best
        # candidate while the comparison runs; the gate reads its figures.
        with serving_probes.fresh() as probe:
            # Curve label -> holdout probabilities, and each candidate's by version.
            curves: dict[str, np.ndarray] = {}
            proba_of: dict[str, np.ndarray] = {}
            candidates: list[dict[str, Any]] = []
            for c in candidate_models:
                family, proba = predict_version(mlflow, c["version"], holdout)
                candidates.append(evaluated(c["version"], family, proba, holdout, mode=c["mode"]))
                proba_of[c["version"]] = curves[f"v{c['version']} {family}"] = proba
            best = max(candidates, key=lambda c: c["roc_auc"])
            probe.load(mlflow.model_uri(best["version"]), inputs(holdout.head(SERVING_SAMPLE_ROWS)))
            result, metadata = compared(
                context, mlflow, holdout, candidates, best, proba_of, curves
            )
            for ref, record in zip(candidate_models, candidates, strict=True):
                mlflow.log_holdout_metrics(
                    ref["run_id"], {k: v for k, v in record.items() if isinstance(v, float)}
                )
            serving = probe.result(settings.infra)
        result["serving"] = {"version": best["version"], **asdict(serving)}
        return dg.MaterializeResult(
            value=result, metadata={**metadata, "serving_of_best": serving.reason}
        )

    def compared(
        context: dg.AssetExecutionContext,
        mlflow: MlflowRegistry,
        holdout: pd.DataFrame,
        candidates: list[dict[str, Any]],
        best: dict[str, Any],
        proba_of: dict[str, np.ndarray],
        curves: dict[str, np.ndarray],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The champion re-scored beside the candidates; tables, curves, the MLflow run."""
        from ct_assets.ml.evaluation import (
            calibration_table,
            comparison_table,
            paired_bootstrap_gains,
        )
        from ct_assets.ml.plots import comparison_figures, markdown_images, png

        labels = holdout[LABEL].to_numpy()
        champion_version = mlflow.champion_version()
        champion: dict[str, Any] | None = None
        incomparable: dict[str, str] | None = None
        if champion_version:
            try:
                family, champion_proba = predict_version(mlflow, champion_version, holdout)
            except FeatureSetMismatch as exc:
                # New feature definitions: the champion cannot read these features at all.
                context.log.warning(str(exc))
                incomparable = {"version": champion_version, "reason": str(exc)}
            else:
                champion = evaluated(champion_version, family, champion_proba, holdout)
                curves[f"champion v{champion_version} {family}"] = champion_proba
                # The margin gate judges the best candidate alone: its interval is the one
                # worth a thousand resamples of the holdout.
                gains = paired_bootstrap_gains(
                    labels, {best["version"]: proba_of[best["version"]]}, champion_proba
                )
                best["gain_vs_champion"] = gains[best["version"]]
        labelled = {f"candidate v{c['version']}": c for c in candidates}
        if champion:
            labelled[f"champion v{champion['version']}"] = champion
        table = comparison_table(labelled)
        slices = slices_table(labelled)
        # Rendered once, for the UI and for MLflow.
        images = {name: png(f) for name, f in comparison_figures(labels, curves).items()}
        calibration = calibration_table(labels, proba_of[best["version"]])
        run_id = mlflow.log_evaluation(
            context.partition_key,
            {
                "ct.partition": context.partition_key,
                "ct.dagster_run_id": context.run.run_id,
                "ct.candidate_versions": ",".join(c["version"] for c in candidates),
                "ct.champion_version": champion_version or "",
                "ct.holdout_rows": str(len(holdout)),
            },
            images,
            {"comparison": table, "slices": slices, "calibration_of_best": calibration},
        )
        result = {
            "holdout_rows": len(holdout),
            "candidates": candidates,
            "champion": champion,
            "champion_incomparable": incomparable,
            "mlflow_run_id": run_id,
        }
        metadata = {
            "comparison": dg.MetadataValue.md(table.to_markdown(index=False)),
            "slices": dg.MetadataValue.md(slices.to_markdown(index=False)),
            "curves": dg.MetadataValue.md(markdown_images(images)),
            f"calibration (best: v{best['version']})": dg.MetadataValue.md(
                calibration.to_markdown(index=False)
            ),
            "holdout_rows": len(holdout),
            "best_candidate_roc_auc": best["roc_auc"],
            "champion_version": champion_version or "none",
            "feature_set_id": str(holdout[FEATURE_SET].iloc[0]),
            "champion_roc_auc": champion["roc_auc"] if champion else float("nan"),
            "mlflow_evaluation_run": run_id,
        }
        return result, metadata

    return [model_evaluations]
