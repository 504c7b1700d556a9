"""The immutable raw layer and the quarantine beside it.

Layout under `base_dir`:
- `raw/batches/<batch id>/<file>` and `manifest.json`: each batch once, byte for byte as it came;
- `raw/partitions/<partition>/<batch id>.json`: which batches hold rows of which partition (a
  batch whose events span days is indexed under each of them);
- `raw/sources/<source>/progress.json`: how far a pulled source (SQL, stream, API) has landed;
- `quarantine/<batch id>/<file>` and `reason.json`: refused batches, with why;
- `quarantine/_readmitted/<batch id>-<time>/`: records of batches later re-admitted.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg

from ct_assets.ingest.files import atomic_write, fsync_path
from ct_assets.ingest.landing import batch_id_for, bytes_hash


@dataclass(frozen=True)
class Delivery:
    """One batch exactly as a source delivered it, with where and when it came from."""

    data: bytes
    file_name: str
    source: str
    source_ref: str
    arrived_at: datetime
    rows: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def sha256(self) -> str:
        return bytes_hash(self.data)


MANIFEST = "manifest.json"
PROGRESS = "progress.json"
INTENT = "intent.json"
REASON = "reason.json"
READMITTED = "_readmitted"


class BatchStore(dg.ConfigurableResource):
    """Raw batches kept byte for byte as they arrived, and refused batches with their reasons."""

    base_dir: str

    @property
    def raw_root(self) -> Path:
        return Path(self.base_dir) / "raw"

    @property
    def quarantine_root(self) -> Path:
        return Path(self.base_dir) / "quarantine"

    def _batch_dir(self, batch_id: str) -> Path:
        return self.raw_root / "batches" / batch_id

    def _index(self, partition: str) -> Path:
        return self.raw_root / "partitions" / partition

    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        manifest = self._batch_dir(batch_id) / MANIFEST
        return json.loads(manifest.read_text()) if manifest.exists() else None

    def ingest(self, delivery: Delivery, partitions: list[str]) -> tuple[dict[str, Any], bool]:
        """Keep a delivered batch once, byte for byte, and index it under its partitions.

        Returns (manifest, newly_ingested). Ingesting the same bytes again copies nothing, from
        whichever source or path they come.
        """
        sha = delivery.sha256
        batch_id = batch_id_for(sha)
        manifest = self.find_batch(batch_id)
        is_new = manifest is None
        if manifest is None:
            final = self._batch_dir(batch_id)
            staging = final.with_name(f".{batch_id}.{os.getpid()}.staging")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            (staging / delivery.file_name).write_bytes(delivery.data)
            manifest = {
                "batch_id": batch_id,
                "sha256": sha,
                "partitions": sorted(partitions),
                "source": delivery.source,
                "source_path": delivery.source_ref,
                "file_name": delivery.file_name,
                "raw_path": str(final / delivery.file_name),
                "size_bytes": len(delivery.data),
                "rows": delivery.rows,
                "arrived_at": delivery.arrived_at.isoformat(),
                "ingested_at": datetime.now(UTC).isoformat(),
                "source_details": delivery.details,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            for written in (staging / delivery.file_name, staging / MANIFEST, staging):
                fsync_path(written)
            # A directory rename is atomic: a batch is either wholly in raw or not there at all.
            os.rename(staging, final)
            fsync_path(final.parent)
        for partition in manifest["partitions"]:
            entry = self._index(partition) / f"{batch_id}.json"
            if not entry.exists():
                atomic_write(entry, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))
        return manifest, is_new

    # Progress of pulled sources (SQL watermark, stream position, API cursor). A pull is a small
    # write-ahead protocol: intent (batch id + progress after it) -> batch -> progress. A crash
    # anywhere leaves either the old progress (the batch never landed, read again) or rolls
    # forward to the new one (the batch landed), so rows are neither lost nor landed twice.

    def _progress_dir(self, source: str) -> Path:
        return self.raw_root / "sources" / source

    def source_progress(self, source: str) -> dict[str, Any]:
        """Where `source` resumes from: what every landed batch of it has covered."""
        folder = self._progress_dir(source)
        intent = folder / INTENT
        if intent.exists():
            pending = json.loads(intent.read_text())
            if self.find_batch(pending["batch_id"]) is not None:
                self._commit_progress(source, pending["progress"])
            intent.unlink()
        state = folder / PROGRESS
        return json.loads(state.read_text()) if state.exists() else {}

    def _commit_progress(self, source: str, progress: dict[str, Any]) -> None:
        text = json.dumps(progress, indent=2, default=str)
        atomic_write(self._progress_dir(source) / PROGRESS, lambda t: t.write_text(text), True)

    def ingest_pulled(
        self, delivery: Delivery, partitions: list[str], progress: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Land a pulled batch, then record the progress it covers (never the other way round)."""
        folder = self._progress_dir(delivery.source)
        intent = {"batch_id": batch_id_for(delivery.sha256), "progress": progress}
        text = json.dumps(intent, default=str)
        atomic_write(folder / INTENT, lambda t: t.write_text(text), True)
        manifest, is_new = self.ingest(delivery, partitions)
        self._commit_progress(delivery.source, progress)
        (folder / INTENT).unlink()
        return manifest, is_new

    def batches(self, partition: str) -> list[dict[str, Any]]:
        folder = self._index(partition)
        entries = sorted(folder.glob("*.json")) if folder.exists() else []
        return [json.loads(p.read_text()) for p in entries]

    def quarantine(self, manifest: dict[str, Any], reason: dict[str, Any]) -> Path:
        """Put a copy of a refused batch and why it was refused where people can find it."""
        final = self.quarantine_root / manifest["batch_id"]
        staging = final.with_name(f".{final.name}.{os.getpid()}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copyfile(manifest["raw_path"], staging / manifest["file_name"])
        record = {
            **reason,
            "batch_id": manifest["batch_id"],
            "sha256": manifest["sha256"],
            # Manifests read back from Parquet carry arrays; the record must stay plain JSON.
            "partitions": [str(p) for p in manifest["partitions"]],
            "raw_path": manifest["raw_path"],
            "quarantined_at": datetime.now(UTC).isoformat(),
        }
        (staging / REASON).write_text(json.dumps(record, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staging, final)
        return final

    def all_quarantined(self) -> list[dict[str, Any]]:
        """Every batch currently held in quarantine."""
        if not self.quarantine_root.exists():
            return []
        reasons = sorted(self.quarantine_root.glob(f"[!_.]*/{REASON}"))
        records = [json.loads(p.read_text()) for p in reasons]
        return sorted(records, key=lambda r: (r["partitions"], r["batch_id"]))

    def quarantined(self, partition: str) -> list[dict[str, Any]]:
        return [r for r in self.all_quarantined() if partition in r["partitions"]]

    def release(self, batch_id: str) -> bool:
        """Move a batch that now passes out of quarantine, keeping its record for the audit."""
        held = self.quarantine_root / batch_id
        if not held.exists():
            return False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        released = self.quarantine_root / READMITTED / f"{batch_id}-{stamp}"
        released.parent.mkdir(parents=True, exist_ok=True)
        os.rename(held, released)
        return True
