"""Data drift of each features partition against the champion's training window (Evidently)."""

from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.drift import choose_reference, measure_drift, monitored, save_report
from ct_assets.names import DRIFT_CHECK, FEATURE_DRIFT
from ct_assets.partitions import frames_by_partition, partitioned_check
from ct_assets.policy import after_window_upstream, stage_asset
from ct_assets.project.load import Project
from resources.mlflow_registry import MlflowRegistry


def champion_partitions(mlflow: MlflowRegistry) -> list[str] | None:
    version = mlflow.champion_version()
    if version is None:
        return None
    return mlflow.version_tags(version).get("ct.training_partitions", "").split(",") or None


def build_drift(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    lookback = 2 * spec.training.window
    threshold = spec.drift.threshold
    numeric, categorical = monitored(spec)
    excluded = spec.drift_excluded

    @stage_asset(
        FEATURE_DRIFT,
        group="drift",
        partitions=partitions,
        project=spec.name,
        code_version="2",
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
                FEATURE_DRIFT,
                partitions,
                description=(
                    f"Share of drifted features below {threshold} "
                    "(a signal for retraining, not a gate)."
                ),
            )
        ],
    )
    def feature_drift(context: dg.AssetExecutionContext, features: Any, mlflow: MlflowRegistry):
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
                    "reference": nothing,
                    "not_monitored": dg.MetadataValue.json(excluded),
                },
                check_results=[
                    dg.AssetCheckResult(check_name=DRIFT_CHECK, passed=True, description=nothing)
                ],
            )
        reference = pd.concat([features[k] for k in reference_keys], ignore_index=True)
        result, snapshot = measure_drift(
            reference, features[key], reference_keys, numeric, categorical
        )
        report = save_report(snapshot, project.data_dir / "drift_reports" / f"{key}.html")
        table = pd.DataFrame([f.__dict__ for f in result.features])
        drifted = ", ".join(result.drifted_features) or "none"
        passed = result.drift_share < threshold
        return dg.MaterializeResult(
            value={**result.as_dict(), "basis": basis, "report": str(report)},
            metadata={
                "drift_share": result.drift_share,
                "drifted_features": drifted,
                "reference": f"{basis}: {', '.join(reference_keys)}",
                "reference_rows": result.reference_rows,
                "current_rows": result.current_rows,
                "per_feature": dg.MetadataValue.md(table.to_markdown(index=False)),
                "not_monitored": dg.MetadataValue.json(excluded),
                "report": dg.MetadataValue.path(str(report)),
                "report_url": dg.MetadataValue.url(report.resolve().as_uri()),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=DRIFT_CHECK,
                    passed=passed,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"drift share {result.drift_share:.2f}; drifted: {drifted}",
                    metadata={"drift_share": result.drift_share},
                )
            ],
        )

    return [feature_drift]
