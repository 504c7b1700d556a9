"""Stage 6, evaluations: candidates and the champion scored on the same holdout.

The scoring and plotting libraries (scikit-learn, SciPy, matplotlib) are imported by the step,
not with the module: the code location is loaded by every run worker and sensor tick.
"""

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml.contracts import Evaluation, Gain, Incomparable, Scored, ServingCheck
from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.frames import FEATURE_SET, HOLDOUT, LABEL, SPLIT
from ct_assets.ml.infra import SERVING_SAMPLE_ROWS, InfraBudget
from ct_assets.ml.records import Evaluated
from ct_assets.ml.tags import EvaluationRun
from ct_assets.ml.vocabulary import METRIC
from ct_assets.names import MODEL_EVALUATIONS
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.stages.common import after_upstream, stage_asset
from resources.mlflow_registry import MlflowRegistry
from resources.serving_probe import ServingProbes


def predict_version(
    mlflow: MlflowRegistry, version: str, holdout: pd.DataFrame
) -> tuple[str, np.ndarray]:
    """Load a version as registered (not as trained in memory) and predict the holdout.

    Raises FeatureSetMismatch when the version was trained on other feature definitions.
    """
    from ct_assets.ml.training import predict

    family, model = mlflow.load_for(version, str(holdout[FEATURE_SET].iloc[0]))
    return family, predict(family, model, holdout)


def slices_table(records: dict[str, Scored], metric: str) -> pd.DataFrame:
    """Slice rows, one metric column per model (blank where the slice is too small to judge)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for label, record in records.items():
        for s in record.slices:
            row = rows.setdefault(
                (s["column"], s["value"]),
                {"slice": f"{s['column']}={s['value']}", "rows": s["rows"]},
            )
            row[label] = s[metric]
    return pd.DataFrame(list(rows.values()))


def scored(
    spec: ProjectSpec,
    version: str,
    family: str,
    predicted: np.ndarray,
    holdout: pd.DataFrame,
    mode: str = "full",
) -> Scored:
    from ct_assets.ml.evaluation import score, slice_metrics

    labels = holdout[LABEL].to_numpy()
    return Scored(
        version=version,
        family=family,
        mode=mode,
        metrics=score(spec.task.type, labels, predicted),
        slices=slice_metrics(
            holdout,
            labels,
            predicted,
            spec.slice_columns,
            spec.gates.slices.min_rows,
            spec.metric,
        ),
    )


def registered(
    context: dg.AssetExecutionContext, mlflow: MlflowRegistry, refs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The candidates whose registration finished: one that did not is never judged."""
    whole = [r for r in refs if mlflow.is_complete(r["version"])]
    for ref in refs:
        if ref not in whole:
            context.log.warning(f"v{ref['version']} was never completely registered: left out")
    return whole


def build_evaluations(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec

    @stage_asset(
        MODEL_EVALUATIONS,
        group="evaluations",
        partitions=partitions,
        project=project,
        code_version="3",
        kinds={"mlflow"},
        automation=after_upstream(),
        io_manager_key="json_io_manager",
    )
    def model_evaluations(
        context: dg.AssetExecutionContext,
        candidate_models: list[dict[str, Any]],
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
        serving_probes: ServingProbes,
    ) -> dg.MaterializeResult[Evaluation]:
        """Every candidate and the current champion, scored on the window's holdout."""
        holdout = training_window[training_window[SPLIT] == HOLDOUT]
        refs = registered(context, mlflow, candidate_models)
        # The infrastructure gate's fresh process, booted as the run started, loads the best
        # candidate while the comparison runs; the gate reads its figures.
        with serving_probes.fresh() as probe:
            # Curve label -> holdout predictions, and each candidate's by version.
            curves: dict[str, np.ndarray] = {}
            predicted: dict[str, np.ndarray] = {}
            candidates: list[Scored] = []
            for c in refs:
                family, values = predict_version(mlflow, c["version"], holdout)
                candidates.append(scored(spec, c["version"], family, values, holdout, c["mode"]))
                predicted[c["version"]] = curves[f"v{c['version']} {family}"] = values
            draft = Evaluation(
                task=spec.task.type,
                metric=spec.metric,
                feature_set_id=str(holdout[FEATURE_SET].iloc[0]),
                holdout_rows=len(holdout),
                candidates=candidates,
            )
            best = draft.best()
            sample = holdout[list(spec.feature_names)].head(SERVING_SAMPLE_ROWS)
            probe.load(mlflow.model_uri(best.version), sample)
            evaluation, metadata = compared(context, mlflow, holdout, draft, predicted, curves)
            for ref, record in zip(refs, candidates, strict=True):
                mlflow.log_holdout_metrics(ref["run_id"], record.metrics)
            serving = probe.result(InfraBudget.of(spec.gates.serving))
        evaluation = evaluation.model_copy(
            update={
                "serving": ServingCheck(
                    version=best.version,
                    passed=serving.passed,
                    reason=serving.reason,
                    figures=serving.figures,
                )
            }
        )
        return dg.MaterializeResult(
            value=evaluation, metadata={**metadata, "serving_of_best": serving.reason}
        )

    def compared(
        context: dg.AssetExecutionContext,
        mlflow: MlflowRegistry,
        holdout: pd.DataFrame,
        draft: Evaluation,
        predicted: dict[str, np.ndarray],
        curves: dict[str, np.ndarray],
    ) -> tuple[Evaluation, dict[str, Any]]:
        """The champion re-scored beside the candidates; tables, curves, the MLflow run."""
        from ct_assets.ml.evaluation import (
            calibration_table,
            comparison_table,
            paired_bootstrap_gains,
        )
        from ct_assets.ml.plots import comparison_figures, markdown_images, png

        task, metric = spec.task.type, spec.metric
        labels = holdout[LABEL].to_numpy()
        best = draft.best()
        champion_version = mlflow.champion_version()
        champion: Scored | None = None
        incomparable: Incomparable | None = None
        candidates = list(draft.candidates)
        if champion_version:
            try:
                family, champion_values = predict_version(mlflow, champion_version, holdout)
            except FeatureSetMismatch as exc:
                # New feature definitions: the champion cannot read these features at all.
                context.log.warning(str(exc))
                incomparable = Incomparable(version=champion_version, reason=str(exc))
            else:
                champion = scored(spec, champion_version, family, champion_values, holdout)
                curves[f"champion v{champion_version} {family}"] = champion_values
                # The margin gate judges the best candidate alone: its interval is the one
                # worth a thousand resamples of the holdout.
                gains = paired_bootstrap_gains(
                    labels, {best.version: predicted[best.version]}, champion_values, metric
                )
                best = best.model_copy(update={"gain": Gain.model_validate(gains[best.version])})
                candidates = [best if c.version == best.version else c for c in candidates]
        labelled = {f"candidate v{c.version}": c for c in candidates}
        if champion:
            labelled[f"champion v{champion.version}"] = champion
        table = comparison_table(
            task,
            {k: {"family": v.family, "mode": v.mode, **v.metrics} for k, v in labelled.items()},
        )
        slices = slices_table(labelled, metric)
        # Rendered once, for the UI and for MLflow.
        images = {name: png(f) for name, f in comparison_figures(task, labels, curves).items()}
        calibration = calibration_table(task, labels, predicted[best.version])
        run_id = mlflow.log_evaluation(
            context.partition_key,
            EvaluationRun(
                partition=context.partition_key,
                dagster_run_id=context.run.run_id,
                candidate_versions=[c.version for c in candidates],
                champion_version=champion_version,
                holdout_rows=len(holdout),
                metric=metric,
            ).tags(),
            images,
            {"comparison": table, "slices": slices, "calibration_of_best": calibration},
        )
        evaluation = draft.model_copy(
            update={
                "candidates": candidates,
                "champion": champion,
                "champion_incomparable": incomparable,
                "mlflow_run_id": run_id,
            }
        )
        title = METRIC[metric].title
        metadata = {
            "comparison": dg.MetadataValue.md(table.to_markdown(index=False)),
            "slices": dg.MetadataValue.md(slices.to_markdown(index=False)),
            "curves": dg.MetadataValue.md(markdown_images(images)),
            f"calibration (best: v{best.version})": dg.MetadataValue.md(
                calibration.to_markdown(index=False)
            ),
            "holdout_rows": len(holdout),
            "metric": f"{metric} ({title}, {METRIC[metric].direction})",
            f"best_candidate_{metric}": best.value(metric),
            "best_candidate_version": best.version,
            "champion_version": champion_version or "none",
            "feature_set_id": draft.feature_set_id,
            f"champion_{metric}": champion.value(metric) if champion else float("nan"),
            "mlflow_evaluation_run": run_id,
            **Evaluated(
                metric=metric,
                best_version=best.version,
                best=best.value(metric),
                champion_version=champion_version,
                holdout_rows=len(holdout),
            ).entry(),
        }
        return evaluation, metadata

    return [model_evaluations]
