"""Stage 1, raw: every landed file kept byte for byte, with its batch id and content hash."""

from datetime import timedelta

import dagster as dg
import pandas as pd

from ct_assets.ml.landing import batch_time, content_hash
from resources.sources import FileDropSource
from resources.storage import BatchStore

RAW_BATCHES = "raw_batches"


def partition_key_for(partitions: dg.TimeWindowPartitionsDefinition, path_time: float) -> str:
    return partitions.get_partition_key_for_timestamp(path_time)


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
        new_ids: list[str] = []
        for landed in file_drop.files():
            try:
                belongs = partition_key_for(partitions, batch_time(landed.path).timestamp())
            except (ValueError, OSError) as exc:
                context.log.warning(f"cannot place {landed.path} in a partition: {exc}")
                continue
            if belongs != key:
                continue
            manifest, is_new = batch_store.ingest(landed.path, content_hash(landed.path), key)
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
