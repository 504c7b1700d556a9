"""Data drift of each features partition against the champion's training window (Evidently),
judged per feature on an effect size (see ct_assets/ml/drift.py)."""

from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.io.reports import save_report
from ct_assets.ml import drift_methods
from ct_assets.ml.drift import (
    CorrelationShift,
    DriftResult,
    choose_reference,
    correlation_shift,
    measure_drift,
    monitored,
)
from ct_assets.ml.frames import at_most
from ct_assets.ml.records import DriftSummary, ModelLineage
from ct_assets.names import DRIFT_CHECK, FEATURE_DRIFT
from ct_assets.partitions import frames_by_partition, partitioned_check
from ct_assets.project.load import Project
from ct_assets.project.spec import Drift
from ct_assets.stages.common import after_window_upstream, stage_asset
from resources.alerts import AlertHook
from resources.mlflow_registry import MlflowRegistry
from resources.storage import ArtifactStore

SEMANTICS = "likely upstream semantics change"


def champion_partitions(mlflow: MlflowRegistry) -> list[str] | None:
    version = mlflow.champion_version()
    if version is None:
        return None
    return ModelLineage.of(mlflow.version_tags(version)).training_partitions or None


def correlation_metadata(shift: CorrelationShift | None) -> dict[str, Any]:
    """What feature_drift shows of the correlation structure (None: nothing was compared)."""
    if shift is None or not shift.columns:
        return {"correlation_shifted_features": "none", "max_correlation_shift": 0.0}
    table = pd.DataFrame([c.__dict__ for c in shift.columns])
    return {
        "correlation_shifted_features": ", ".join(shift.shifted_features) or "none",
        "max_correlation_shift": shift.max_shift,
        "correlation_per_feature": dg.MetadataValue.md(table.to_markdown(index=False)),
    }


def judged_by(rules: Drift) -> str:
    """What drift means in this project, in words (check description, metadata)."""
    numeric, categorical = rules.numeric, rules.categorical
    number, category = drift_methods.get(numeric.method), drift_methods.get(categorical.method)
    return (
        f"a numeric feature drifts when its {number.title} reaches "
        f"{numeric.threshold:g}, a categorical one when its {category.title} "
        f"reaches {categorical.threshold:g}; either at least its noise floor"
    )


def per_feature_table(result: DriftResult) -> str:
    """Each monitored feature's method, effect size, threshold, noise floor and verdict."""
    table = pd.DataFrame([f.__dict__ for f in result.features])
    return table.rename(columns={"noise_floor": "noise floor"}).to_markdown(index=False)


def build_drift(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    lookback = 2 * spec.training.window
    threshold = spec.drift.threshold
    correlation_threshold = spec.drift.correlation_threshold
    numeric, categorical = monitored(spec)
    excluded = spec.drift_excluded

    @stage_asset(
        FEATURE_DRIFT,
        group="drift",
        partitions=partitions,
        project=project,
        code_version="4",
        kinds={"evidently"},
        automation=after_window_upstream(),
        io_manager_key="json_io_manager",
        # In a run that also retrains, the champion path goes first: a new batch reaches
        # production without waiting for Evidently (whose import alone takes seconds). The
        # reference stays the partitions before this one, so the figures do not depend on it.
        op_tags={"dagster/priority": "-1"},
        ins={
            "features": dg.AssetIn(
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-lookback),
                metadata={"allow_missing_partitions": True},
            )
        },
        check_specs=[
            partitioned_check(
                DRIFT_CHECK,
                project.namespace.key(FEATURE_DRIFT),
                partitions,
                description=(
                    f"Share of drifted features below {threshold}; {judged_by(spec.drift)} "
                    "(a signal for retraining, not a gate)."
                ),
            )
        ],
    )
    def feature_drift(
        context: dg.AssetExecutionContext,
        features: Any,
        mlflow: MlflowRegistry,
        alerts: AlertHook,
        artifacts: ArtifactStore,
    ):
        """Per-feature drift of this partition against the champion's training window."""
        key = context.partition_key
        features = frames_by_partition(context, "features", features)
        reference_keys, basis = choose_reference(features, key, champion_partitions(mlflow))
        if key not in features:
            raise dg.Failure(f"features of {key} are missing: nothing to compare")
        nothing = (
            "none yet: first partition"
            if not reference_keys
            else "no row-level feature is monitored (see not_monitored)"
            if not numeric + categorical
            else None
        )
        if nothing is not None:
            summary = {"drift_share": 0.0, "reference_partitions": [], "basis": nothing}
            return dg.MaterializeResult(
                value=summary,
                metadata={
                    "drift_share": 0.0,
                    **DriftSummary(share=0.0, basis=nothing).entry(),
                    "reference": nothing,
                    "not_monitored": dg.MetadataValue.json(excluded),
                    **correlation_metadata(None),
                },
                check_results=[
                    dg.AssetCheckResult(check_name=DRIFT_CHECK, passed=True, description=nothing)
                ],
            )
        reference = pd.concat([features[k] for k in reference_keys], ignore_index=True)
        reference = at_most(reference, spec.drift.max_rows)
        current = at_most(features[key], spec.drift.max_rows)
        result, snapshot = measure_drift(
            reference, current, reference_keys, numeric, categorical, spec.drift
        )
        shift = correlation_shift(reference, current, numeric, correlation_threshold)
        report = save_report(snapshot, artifacts.root / "drift_reports" / f"{key}.html")
        drifted = ", ".join(result.drifted_features) or "none"
        passed = result.drift_share < threshold
        description = f"drift share {result.drift_share:.2f}; drifted: {drifted}"
        if shift.shifted_features:
            semantics = f"{SEMANTICS}: {', '.join(shift.shifted_features)}"
            description = f"{description}; {semantics}"
            alerts.send(
                context.log,
                f"ct drift {key}: {semantics} (rank correlation moved by up to "
                f"{shift.max_shift:.2f}, threshold {correlation_threshold:g})",
                {
                    "partition": key,
                    "correlation_shifted_features": shift.shifted_features,
                    "max_correlation_shift": shift.max_shift,
                },
                kind="correlation_shift",
            )
        return dg.MaterializeResult(
            value={
                **result.as_dict(),
                "basis": basis,
                "report": str(report),
                "correlation_shift": shift.as_dict(),
            },
            metadata={
                **DriftSummary(
                    share=result.drift_share,
                    drifted=list(result.drifted_features),
                    reference_partitions=list(reference_keys),
                    basis=basis,
                    semantics_shifted=list(shift.shifted_features),
                ).entry(),
                "drift_share": result.drift_share,
                "drifted_features": drifted,
                "reference": f"{basis}: {', '.join(reference_keys)}",
                "reference_rows": result.reference_rows,
                "current_rows": result.current_rows,
                "per_feature": dg.MetadataValue.md(per_feature_table(result)),
                "judged_by": judged_by(spec.drift),
                "not_monitored": dg.MetadataValue.json(excluded),
                "report": dg.MetadataValue.path(str(report)),
                "report_url": dg.MetadataValue.url(report.resolve().as_uri()),
                **correlation_metadata(shift),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=DRIFT_CHECK,
                    passed=passed,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=description,
                    metadata={"drift_share": result.drift_share},
                )
            ],
        )

    return [feature_drift]
