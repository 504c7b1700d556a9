"""Stage 2, validated: typed, schema-checked events; refused batches go to quarantine."""

from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ingest.parsing import check_bytes
from ct_assets.ml.features import with_row_ids
from ct_assets.ml.frames import BATCH
from ct_assets.ml.quality import DimensionResult, measure_quality
from ct_assets.ml.schema import ValidationOutcome, build_schema, empty_events
from ct_assets.names import SCHEMA_CHECK, VALIDATED_BATCHES, quality_check_name
from ct_assets.observe import latest_metadata
from ct_assets.partitions import partitioned_check
from ct_assets.policy import after_upstream, freshness, stage_asset
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from resources.storage import BatchStore


def validate_manifest(
    manifest: dict[str, Any], spec: ProjectSpec, store: BatchStore
) -> ValidationOutcome:
    """Parse and validate one raw batch; an unreadable file is a refusal, not a crash."""
    return check_bytes(store.read_batch(manifest), spec, manifest["file_name"])


def _table_schema(spec: ProjectSpec) -> dg.TableSchema:
    columns = build_schema(spec).columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(col.dtype), description=col.description)
            for name, col in columns.items()
        ]
    )


def in_window(events: pd.DataFrame, time: str, start: datetime, end: datetime) -> pd.DataFrame:
    times = events[time]
    return events[(times >= start) & (times < end)].reset_index(drop=True)


def trailing_row_counts(
    instance: dg.DagsterInstance,
    partitions: dg.TimeWindowPartitionsDefinition,
    partition: str,
    count: int = 7,
) -> list[int]:
    """Row counts of the validated partitions just before this one, as recorded in Dagster."""
    keys = partitions.get_partition_keys()
    earlier = keys[max(0, keys.index(partition) - count) : keys.index(partition)]
    counts = []
    for key in earlier:
        recorded = latest_metadata(instance, VALIDATED_BATCHES, key)
        if recorded is not None and recorded["dagster/row_count"]:
            counts.append(int(recorded["dagster/row_count"]))
    return counts


def quality_results(
    results: list[DimensionResult], blocking: frozenset[str]
) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=quality_check_name(r.name),
            passed=r.passed,
            severity=(
                dg.AssetCheckSeverity.ERROR if r.name in blocking else dg.AssetCheckSeverity.WARN
            ),
            description=r.summary,
            metadata=dict(r.measured),
        )
        for r in results
    ]


def build_validated(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    blocking = spec.blocking
    quality_specs = [
        partitioned_check(
            quality_check_name(dimension),
            VALIDATED_BATCHES,
            partitions,
            blocking=dimension in blocking,
            description=f"Data-quality dimension {dimension!r} within its configured thresholds.",
        )
        for dimension in spec.dimensions
    ]

    @stage_asset(
        VALIDATED_BATCHES,
        group="validated",
        partitions=partitions,
        project=spec.name,
        code_version="3",
        kinds={"pandas", "parquet"},
        automation=after_upstream(),
        # Validated data goes stale with its sources: same windows, so the UI shows both.
        freshness_policy=freshness(spec.freshness.sources),
        check_specs=[
            partitioned_check(
                SCHEMA_CHECK,
                VALIDATED_BATCHES,
                partitions,
                blocking=True,
                description="Every batch of the partition matches the declared dataset "
                "(pandera schema built from ct.yaml); refused batches are quarantined and warn, "
                "a partition with none valid stops.",
            ),
            *quality_specs,
        ],
    )
    def validated_batches(
        context: dg.AssetExecutionContext, raw_batches: pd.DataFrame, batch_store: BatchStore
    ):
        """Events of the partition's accepted batches, typed by the declared dataset."""
        accepted: list[pd.DataFrame] = []
        refused: list[dict[str, Any]] = []
        readmitted: list[str] = []
        refused_rows = 0
        manifests: list[dict[str, Any]] = raw_batches.to_dict("records")  # type: ignore[assignment]
        window = context.partition_time_window
        for manifest in manifests:
            outcome = validate_manifest(manifest, spec, batch_store)
            if outcome.ok and outcome.frame is not None:
                # A batch is judged whole (row ids number it as delivered); the partition keeps
                # the rows of its own time window.
                batch = with_row_ids(outcome.frame, manifest["batch_id"], spec)
                accepted.append(in_window(batch, spec.dataset.time, window.start, window.end))
                if batch_store.release(manifest["batch_id"]):
                    readmitted.append(manifest["batch_id"])
                continue
            refused_rows += outcome.rows
            where = batch_store.quarantine(manifest, outcome.as_record())
            context.log.error(f"batch {manifest['batch_id']} quarantined: {outcome.reason()}")
            refused.append(
                {"batch_id": manifest["batch_id"], "reason": outcome.reason(), "at": str(where)}
            )
        events = pd.concat(accepted, ignore_index=True) if accepted else empty_events(spec)
        reasons = "\n".join(f"- {r['batch_id']}: {r['reason']}" for r in refused)
        check = dg.AssetCheckResult(
            check_name=SCHEMA_CHECK,
            passed=not refused,
            # Refused batches are in quarantine, not in the output: the good batches of the
            # partition go on (a warning). Only a partition left with nothing valid stops.
            severity=(dg.AssetCheckSeverity.WARN if accepted else dg.AssetCheckSeverity.ERROR),
            description=reasons or "all batches match the schema",
            metadata={
                "batches_checked": len(raw_batches),
                "batches_quarantined": len(refused),
                "quarantined": dg.MetadataValue.json(refused),
            },
        )
        quality = measure_quality(
            events,
            refused_rows,
            arrived=max(datetime.fromisoformat(m["ingested_at"]) for m in manifests),
            trailing_rows=trailing_row_counts(context.instance, partitions, context.partition_key),
            spec=spec,
        )
        return dg.MaterializeResult(
            value=events,
            metadata={
                "dagster/row_count": len(events),
                "dagster/column_schema": _table_schema(spec),
                "accepted_batch_ids": ", ".join(sorted(events[BATCH].unique())) or "none",
                "quarantined_batch_ids": ", ".join(r["batch_id"] for r in refused) or "none",
                "readmitted_batch_ids": ", ".join(readmitted) or "none",
            },
            check_results=[check, *quality_results(quality, blocking)],
        )

    return [validated_batches]
