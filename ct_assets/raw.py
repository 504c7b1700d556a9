"""Stage 1, raw: every landed file kept byte for byte, with its batch id and content hash."""

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from ct_assets.ml.landing import batch_id_for, content_hash, partitions_of_file
from resources.sources import FileDropSource
from resources.storage import BatchStore

RAW_BATCHES = "raw_batches"


def partition_placer(
    partitions: dg.TimeWindowPartitionsDefinition,
) -> Callable[[Path], list[str]]:
    """Maps a landed file to the partitions its events belong to (existing partitions only)."""
    existing = set(partitions.get_partition_keys())

    def key_of(moment: datetime) -> str | None:
        key = partitions.get_partition_key_for_timestamp(moment.timestamp())
        return key if key in existing else None

    return lambda path: partitions_of_file(path, key_of)


def build_raw(partitions: dg.TimeWindowPartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=RAW_BATCHES,
        partitions_def=partitions,
        group_name="raw",
        code_version="1",
        kinds={"file"},
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=36), warn_window=timedelta(hours=26)
        ),
    )
    def raw_batches(
        context: dg.AssetExecutionContext, batch_store: BatchStore, file_drop: FileDropSource
    ) -> dg.MaterializeResult[pd.DataFrame]:
        """Files landed for the partition, immutable, each a batch with id, hash and arrival."""
        key = context.partition_key
        place = partition_placer(partitions)
        new_ids: list[str] = []
        for landed in file_drop.files():
            sha = content_hash(landed.path)
            known = batch_store.find_batch(batch_id_for(sha))
            try:
                # Known bytes keep the placement they got; only new files are parsed here.
                belongs = known["partitions"] if known else place(landed.path)
            except (ValueError, OSError) as exc:
                context.log.warning(f"cannot place {landed.path} in a partition: {exc}")
                continue
            if key not in belongs:
                continue
            manifest, is_new = batch_store.ingest(landed.path, sha, belongs)
            if is_new:
                new_ids.append(manifest["batch_id"])
        manifests = batch_store.batches(key)
        if not manifests:
            raise dg.Failure(
                f"no batch has landed for partition {key} in {file_drop.landing_dir}",
                allow_retries=False,
            )
        frame = pd.DataFrame(manifests)
        return dg.MaterializeResult(
            value=frame,
            metadata={
                "dagster/row_count": len(frame),
                "batch_ids": ", ".join(frame["batch_id"]),
                "new_batch_ids": ", ".join(new_ids) or "none",
                "files": dg.MetadataValue.md(
                    frame[
                        ["batch_id", "file_name", "sha256", "size_bytes", "arrived_at"]
                    ].to_markdown(index=False)
                ),
                "total_bytes": int(frame["size_bytes"].sum()),
            },
        )

    return [raw_batches]
