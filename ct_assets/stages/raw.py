"""Stage 1, raw: every delivered batch kept byte for byte, with its batch id and content hash.

Each source is an external asset (`sources/<name>`) that its sensor marks as updated whenever it
delivers; its freshness policy makes a source that stops delivering show as overdue on its own.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ingest.landing import LandedFile, batch_id_for, landing_digest, placement
from ct_assets.ml.records import RawBatches
from ct_assets.names import FILE_DROP, RAW_BATCHES
from ct_assets.partitions import partition_key_of
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.stages.common import freshness, stage_asset
from resources.asset_source import asset_source_deps
from resources.sources import FileDropSource
from resources.storage import BatchStore, Delivery


def land_dropped_files(
    partition: str,
    file_drop: FileDropSource,
    batch_store: BatchStore,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
    log: logging.Logger | dg.DagsterLogManager,
) -> list[str]:
    """Land the landing folder's files that hold rows of `partition`; the new batch ids.

    Where each file belongs is recorded the first time any run reads it, so a run reads only its
    own partition's files plus those never placed: a backfill over N days reads each file a few
    times, not N times.
    """
    placed = batch_store.placements()
    new_ids: list[str] = []
    for landed in file_drop.files():
        digest = landing_digest(landed)
        if digest in placed and partition not in placed[digest]:
            continue
        delivery = file_drop.delivery(landed)
        record = batch_store.placement(digest) if digest in placed else None
        if record is None or record["sha256"] != delivery.sha256:
            # Never placed, or rewritten without its signature changing: placed from its bytes.
            try:
                record = place_delivery(delivery, landed, batch_store, key_of, spec)
            except ValueError as exc:
                log.warning(f"cannot place {landed.path} in a partition: {exc}")
                continue
            if digest not in placed:
                batch_store.record_placement(digest, record)
        if partition not in record["partitions"]:
            continue
        manifest, is_new = batch_store.ingest(
            replace(delivery, rows=record["rows"]), record["partitions"]
        )
        if is_new:
            new_ids.append(manifest["batch_id"])
    return new_ids


def place_delivery(
    delivery: Delivery,
    landed: LandedFile,
    batch_store: BatchStore,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
) -> dict[str, Any]:
    """Where a landed file's rows belong, with its row count (ValueError: nowhere)."""
    known = batch_store.find_batch(batch_id_for(delivery.sha256))
    if known:
        # Known bytes keep the placement they got; only new files are parsed.
        partitions, rows = known["partitions"], known.get("rows")
    else:
        partitions, rows = placement(delivery.data, landed.name, landed.arrived_at, key_of, spec)
    return {
        "path": landed.path,
        "signature": landed.signature,
        "sha256": delivery.sha256,
        "rows": rows,
        "partitions": partitions,
    }


def source_names(project: Project) -> list[str]:
    return [FILE_DROP, *project.spec.sources.pulled]


def build_source_specs(project: Project) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=project.namespace.source(name),
            group_name=project.namespace.group("sources"),
            description=f"Deliveries of the {name} source, recorded by its sensor.",
            kinds={"s3" if name == FILE_DROP and project.landing.startswith("s3://") else name},
            freshness_policy=freshness(project.spec.freshness.sources),
        )
        for name in source_names(project)
    ]


def build_raw(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec

    @stage_asset(
        RAW_BATCHES,
        group="raw",
        partitions=partitions,
        project=project,
        code_version="2",
        kinds={"file"},
        automation=None,
        deps=[
            *(project.namespace.source(name) for name in source_names(project)),
            # A user's own asset declared as a source (`sources.asset`): its key, as they named it.
            *asset_source_deps(project),
        ],
        freshness_policy=freshness(project.spec.freshness.sources),
    )
    def raw_batches(
        context: dg.AssetExecutionContext, batch_store: BatchStore, file_drop: FileDropSource
    ) -> dg.MaterializeResult[pd.DataFrame]:
        """Batches delivered for the partition, immutable, with id, hash, source and arrival."""
        key = context.partition_key
        new_ids = land_dropped_files(
            key, file_drop, batch_store, partition_key_of(partitions), spec, context.log
        )
        manifests = batch_store.batches(key)
        if not manifests:
            raise dg.Failure(
                f"no batch has landed for partition {key} (sources: "
                f"{', '.join(source_names(project))}; landing {file_drop.url})",
                allow_retries=False,
            )
        # Parquet has no type for free-form dicts; the details stay readable as JSON text.
        frame = pd.DataFrame(
            [{**m, "source_details": json.dumps(m.get("source_details", {}))} for m in manifests]
        )
        shown = ["batch_id", "source", "file_name", "rows", "sha256", "size_bytes", "arrived_at"]
        return dg.MaterializeResult(
            value=frame,
            metadata={
                "dagster/row_count": len(frame),
                "batch_ids": ", ".join(frame["batch_id"]),
                "new_batch_ids": ", ".join(new_ids) or "none",
                **RawBatches(
                    batch_ids=list(frame["batch_id"]), new_batch_ids=list(new_ids)
                ).entry(),
                "sources": ", ".join(sorted(frame["source"].unique())),
                "files": dg.MetadataValue.md(frame.reindex(columns=shown).to_markdown(index=False)),
                "total_bytes": int(frame["size_bytes"].sum()),
            },
        )

    return [raw_batches]
