"""Stage 2, validated: typed, schema-checked events; refused batches go to quarantine."""

from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.parsing import check_file
from ct_assets.ml.quality import DIMENSIONS, DimensionResult, measure_quality
from ct_assets.ml.schema import EVENT_TIME, EventSchema, ValidationOutcome, empty_events
from ct_assets.observe import latest_metadata
from ct_assets.partitions import partitioned_check
from ct_assets.settings import PipelineSettings
from resources.storage import BatchStore
from sensors.automation import after_upstream

VALIDATED_BATCHES = "validated_batches"
SCHEMA_CHECK = "events_match_schema"


def validate_manifest(manifest: dict[str, Any]) -> ValidationOutcome:
    """Parse and validate one raw batch; an unreadable file is a refusal, not a crash."""
    return check_file(Path(manifest["raw_path"]), manifest["file_name"])


def _table_schema() -> dg.TableSchema:
    columns = EventSchema.to_schema().columns
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(col.dtype)) for name, col in columns.items()]
    )


def in_window(events: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    times = events[EVENT_TIME]
    return events[(times >= start) & (times < end)].reset_index(drop=True)


def quality_check_name(dimension: str) -> str:
    return f"quality_{dimension}"


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
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    quality_specs = [
        partitioned_check(
            quality_check_name(dimension),
            VALIDATED_BATCHES,
            partitions,
            blocking=dimension in settings.quality_blocking,
            description=f"Data-quality dimension {dimension!r} within its configured thresholds.",
        )
        for dimension in DIMENSIONS
    ]

    @dg.asset(
        name=VALIDATED_BATCHES,
        partitions_def=partitions,
        group_name="validated",
        code_version="2",
        kinds={"pandas", "parquet"},
        automation_condition=after_upstream(),
        # Validated data goes stale with its sources: same windows, so the UI shows both.
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=settings.source_freshness_fail, warn_window=settings.source_freshness_warn
        ),
        check_specs=[
            partitioned_check(
                SCHEMA_CHECK,
                VALIDATED_BATCHES,
                partitions,
                blocking=True,
                description="Every batch of the partition matches EventSchema (pandera); "
                "refused batches are quarantined and warn, a partition with none valid stops.",
            ),
            *quality_specs,
        ],
    )
    def validated_batches(
        context: dg.AssetExecutionContext, raw_batches: pd.DataFrame, batch_store: BatchStore
    ):
        """Events of the partition's accepted batches, typed by the pandera EventSchema."""
        accepted: list[pd.DataFrame] = []
        refused: list[dict[str, Any]] = []
        readmitted: list[str] = []
        refused_rows = 0
        manifests: list[dict[str, Any]] = raw_batches.to_dict("records")  # type: ignore[assignment]
        window = context.partition_time_window
        for manifest in manifests:
            outcome = validate_manifest(manifest)
            if outcome.ok and outcome.frame is not None:
                # A batch is judged whole; the partition keeps the rows of its own time window.
                rows = in_window(outcome.frame, window.start, window.end)
                accepted.append(rows.assign(batch_id=manifest["batch_id"]))
                if batch_store.release(manifest["batch_id"]):
                    readmitted.append(manifest["batch_id"])
                continue
            refused_rows += outcome.rows
            where = batch_store.quarantine(manifest, outcome.as_record())
            context.log.error(f"batch {manifest['batch_id']} quarantined: {outcome.reason()}")
            refused.append(
                {"batch_id": manifest["batch_id"], "reason": outcome.reason(), "at": str(where)}
            )
        events = (
            pd.concat(accepted, ignore_index=True)
            if accepted
            else empty_events().assign(batch_id=pd.Series(dtype=object))
        )
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
            thresholds=settings.quality,
        )
        return dg.MaterializeResult(
            value=events,
            metadata={
                "dagster/row_count": len(events),
                "dagster/column_schema": _table_schema(),
                "accepted_batch_ids": ", ".join(sorted(events["batch_id"].unique())) or "none",
                "quarantined_batch_ids": ", ".join(r["batch_id"] for r in refused) or "none",
                "readmitted_batch_ids": ", ".join(readmitted) or "none",
                "label_rate": round(float(events["label"].mean()), 4) if len(events) else 0.0,
            },
            check_results=[check, *quality_results(quality, settings.quality_blocking)],
        )

    return [validated_batches]
