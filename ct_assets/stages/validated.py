"""Stage 2, validated: typed, schema-checked events; refused batches and set-aside rows go to
quarantine, and every delivered row is counted: validated, set aside or refused."""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ingest.parsing import check_bytes
from ct_assets.ml.features import with_row_ids
from ct_assets.ml.frames import BATCH
from ct_assets.ml.quality import DimensionResult, measure_quality
from ct_assets.ml.records import ValidatedRows
from ct_assets.ml.schema import ValidationOutcome, build_schema, empty_events
from ct_assets.names import SCHEMA_CHECK, VALIDATED_BATCHES, Namespace, quality_check_name
from ct_assets.partitions import build_partitions, partitioned_check
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.reads.observe import latest_metadata
from ct_assets.stages.common import after_upstream, freshness, stage_asset
from resources.storage import BatchStore

PartitionSpans = dict[str, tuple[datetime, datetime]]


def validate_manifest(
    manifest: dict[str, Any],
    spec: ProjectSpec,
    store: BatchStore,
    place: Callable[[pd.Series], np.ndarray] | None = None,
) -> ValidationOutcome:
    """Parse and validate one raw batch; an unreadable file is a refusal, not a crash."""
    return check_bytes(store.read_batch(manifest), spec, manifest["file_name"], place)


def batch_windows(
    manifest: dict[str, Any], partitions: dg.TimeWindowPartitionsDefinition
) -> PartitionSpans:
    """The time window of each partition a batch was placed in, by key (sorted)."""
    windows = {}
    for key in sorted(str(k) for k in manifest["partitions"]):
        window = partitions.time_window_for_partition_key(key)
        windows[key] = (window.start, window.end)
    return windows


def placer(windows: PartitionSpans) -> Callable[[pd.Series], np.ndarray]:
    """Which event times fall in one of `windows`: a row outside all of them is in no
    partition that will ever read its batch, so it is set aside rather than dropped.

    Every typed row of every batch is placed: windows that follow one another are one span,
    and times are compared as integers (a million rows in ~2 ms a span)."""
    spans: list[list[int]] = []
    for start, end in sorted(windows.values()):
        low, high = pd.Timestamp(start).value, pd.Timestamp(end).value
        if spans and spans[-1][1] == low:
            spans[-1][1] = high
        else:
            spans.append([low, high])

    def place(times: pd.Series) -> np.ndarray:
        # NaT is the smallest integer: before every span.
        at = pd.to_datetime(times, utc=True).to_numpy(dtype="datetime64[ns]").view(np.int64)
        inside = np.zeros(len(times), dtype=bool)
        for low, high in spans:
            inside |= (at >= low) & (at < high)
        return inside

    return place


def project_placer(spec: ProjectSpec) -> Callable[[pd.Series], np.ndarray]:
    """Which event times fall in a partition the project has today: what `ct check` places
    rows by, so that it sets aside exactly the rows ingest would (before partitions.start, or
    in a partition that does not exist yet)."""
    partitions = build_partitions(spec)
    keys = partitions.get_partition_keys()
    if not keys:
        return lambda times: np.zeros(len(times), dtype=bool)
    first = partitions.time_window_for_partition_key(keys[0])
    last = partitions.time_window_for_partition_key(keys[-1])
    return placer({"all": (first.start, last.end)})


def attribute(times: pd.Series, windows: PartitionSpans) -> np.ndarray:
    """The partition each row is counted in: that of its event time among the batch's, else
    (no readable time, or one outside them) the batch's first. Every run that reads a batch
    counts it alike, so summed over its partitions each row is counted once."""
    keys = np.full(len(times), min(windows), dtype=object)
    for key, (start, end) in windows.items():
        keys[((times >= start) & (times < end)).to_numpy(dtype=bool)] = key
    return keys


@dataclass(frozen=True)
class BatchRows:
    """One batch's rows counted in one partition: delivered = validated + set aside + refused."""

    batch_id: str
    file: str
    validated: int
    set_aside: int
    refused: int
    rules: str

    @property
    def delivered(self) -> int:
        return self.validated + self.set_aside + self.refused


def count_rows(
    outcome: ValidationOutcome,
    batch_id: str,
    partition: str,
    windows: PartitionSpans,
    validated: int,
) -> BatchRows:
    """`outcome`'s rows counted in `partition` (`validated`: its typed rows in the window)."""
    if outcome.set_aside is not None:
        held = int((attribute(outcome.set_aside.times, windows) == partition).sum())
        rules = ", ".join(outcome.set_aside.rules)
        return BatchRows(batch_id, outcome.source, validated, held, 0, rules)
    if outcome.ok:
        return BatchRows(batch_id, outcome.source, validated, 0, 0, "")
    times = outcome.times
    if times is None or len(times) != outcome.rows:
        times = pd.Series(pd.NaT, index=pd.RangeIndex(outcome.rows), dtype="datetime64[ns, UTC]")
    refused = int((attribute(times, windows) == partition).sum())
    rules = ", ".join(outcome.as_record()["rules"])
    return BatchRows(batch_id, outcome.source, 0, 0, refused, rules)


def rows_table(counts: list[BatchRows]) -> dg.TableMetadataValue:
    """The batches of a partition and where their rows went, for the UI."""
    columns = ("batch_id", "file", "delivered", "validated", "set_aside", "refused", "rules")
    kinds = ("string", "string", "int", "int", "int", "int", "string")
    return dg.MetadataValue.table(
        records=[dg.TableRecord({**asdict(c), "delivered": c.delivered}) for c in counts],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(n, k) for n, k in zip(columns, kinds, strict=True)]
        ),
    )


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
    namespace: Namespace,
    partitions: dg.TimeWindowPartitionsDefinition,
    partition: str,
    count: int = 7,
) -> list[int]:
    """Row counts of the validated partitions just before this one, as recorded in Dagster."""
    keys = partitions.get_partition_keys()
    earlier = keys[max(0, keys.index(partition) - count) : keys.index(partition)]
    counts = []
    for key in earlier:
        recorded = ValidatedRows.from_metadata(
            latest_metadata(instance, namespace.key(VALIDATED_BATCHES), key)
        )
        if recorded is not None and recorded.validated:
            counts.append(recorded.validated)
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
            project.namespace.key(VALIDATED_BATCHES),
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
        project=project,
        # 5: a one-class label judged by its count at the declared rate, not refused on sight.
        code_version="5",
        kinds={"pandas", "parquet"},
        automation=after_upstream(),
        # Validated data goes stale with its sources: same windows, so the UI shows both.
        freshness_policy=freshness(spec.freshness.sources),
        check_specs=[
            partitioned_check(
                SCHEMA_CHECK,
                project.namespace.key(VALIDATED_BATCHES),
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
        held: list[str] = []
        readmitted: list[str] = []
        counts: list[BatchRows] = []
        manifests: list[dict[str, Any]] = raw_batches.to_dict("records")  # type: ignore[assignment]
        window = context.partition_time_window
        key = context.partition_key
        for manifest in manifests:
            batch_id = manifest["batch_id"]
            windows = batch_windows(manifest, partitions)
            outcome = validate_manifest(manifest, spec, batch_store, placer(windows))
            # Its reasons name the line of ct.yaml declaring each rule broken.
            outcome = outcome.located(project.locate)
            if outcome.ok and outcome.frame is not None:
                # Row ids number the batch as delivered; the partition keeps the rows of its
                # own time window (the batch's other rows are its other partitions').
                batch = with_row_ids(outcome.frame, batch_id, spec, outcome.kept)
                mine = in_window(batch, spec.dataset.time, window.start, window.end)
                accepted.append(mine)
                counts.append(count_rows(outcome, batch_id, key, windows, len(mine)))
                if outcome.set_aside is None:
                    released = batch_store.release(batch_id)
                else:
                    _, released = batch_store.set_aside(
                        manifest, outcome.set_aside_record(), outcome.set_aside.csv()
                    )
                    context.log.warning(f"batch {batch_id}: {outcome.set_aside_reason()}")
                    held.append(f"- {batch_id}: {outcome.set_aside_reason()}")
                if released:
                    readmitted.append(batch_id)
                continue
            counts.append(count_rows(outcome, batch_id, key, windows, 0))
            where = batch_store.quarantine(manifest, outcome.as_record())
            context.log.error(f"batch {batch_id} quarantined: {outcome.reason()}")
            refused.append({"batch_id": batch_id, "reason": outcome.reason(), "at": str(where)})
        events = pd.concat(accepted, ignore_index=True) if accepted else empty_events(spec)
        reasons = "\n".join(f"- {r['batch_id']}: {r['reason']}" for r in refused)
        set_aside_rows = sum(c.set_aside for c in counts)
        refused_rows = sum(c.refused for c in counts)
        check = dg.AssetCheckResult(
            check_name=SCHEMA_CHECK,
            passed=not refused,
            # Refused batches are in quarantine, not in the output: the good batches of the
            # partition go on (a warning). Only a partition left with no valid batch stops.
            # Rows set aside do not fail it: their batch goes on, and quality_validity counts
            # them.
            severity=(dg.AssetCheckSeverity.WARN if accepted else dg.AssetCheckSeverity.ERROR),
            description="\n".join([reasons or "all batches match the schema", *held]),
            metadata={
                "batches_checked": len(raw_batches),
                "batches_quarantined": len(refused),
                "batches_with_rows_set_aside": len(held),
                "rows_set_aside": set_aside_rows,
                "quarantined": dg.MetadataValue.json(refused),
            },
        )
        quality = measure_quality(
            events,
            refused_rows,
            arrived=max(datetime.fromisoformat(m["ingested_at"]) for m in manifests),
            trailing_rows=trailing_row_counts(context.instance, project.namespace, partitions, key),
            spec=spec,
            set_aside_rows=set_aside_rows,
            locate=project.locate,
        )
        return dg.MaterializeResult(
            value=events,
            metadata={
                "dagster/row_count": len(events),
                "dagster/column_schema": _table_schema(spec),
                # Every row delivered for this partition: delivered = validated + set aside +
                # refused, per batch (the batches table) and in total.
                "rows_delivered": sum(c.delivered for c in counts),
                "rows_validated": len(events),
                "rows_set_aside": set_aside_rows,
                "rows_refused": refused_rows,
                "batches": rows_table(counts),
                "accepted_batch_ids": ", ".join(sorted(events[BATCH].unique())) or "none",
                "quarantined_batch_ids": ", ".join(r["batch_id"] for r in refused) or "none",
                "readmitted_batch_ids": ", ".join(readmitted) or "none",
                **ValidatedRows(
                    validated=len(events),
                    delivered=sum(c.delivered for c in counts),
                    set_aside=set_aside_rows,
                    refused=refused_rows,
                    accepted_batch_ids=sorted(events[BATCH].unique()),
                    quarantined_batch_ids=[r["batch_id"] for r in refused],
                ).entry(),
            },
            check_results=[check, *quality_results(quality, blocking)],
        )

    return [validated_batches]
