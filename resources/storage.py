"""The immutable raw layer and the quarantine beside it.

Layout under `base_dir`:
- `raw/batches/<batch id>/<file>` and `manifest.json`: each batch once, byte for byte as it came;
- `raw/partitions/<partition>/<batch id>.json`: which batches hold rows of which partition (a
  batch whose events span days is indexed under each of them);
- `quarantine/<batch id>/<file>` and `reason.json`: refused batches, with why;
- `quarantine/_readmitted/<batch id>-<time>/`: records of batches later re-admitted.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from ct_assets.ml.files import atomic_write
from ct_assets.ml.landing import batch_id_for

MANIFEST = "manifest.json"
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

    def ingest(
        self, source: Path, sha256: str, partitions: list[str]
    ) -> tuple[dict[str, Any], bool]:
        """Copy a landed file into the raw layer once and index it under its partitions.

        Returns (manifest, newly_ingested). Ingesting the same bytes again copies nothing.
        """
        batch_id = batch_id_for(sha256)
        manifest = self.find_batch(batch_id)
        is_new = manifest is None
        if manifest is None:
            final = self._batch_dir(batch_id)
            staging = final.with_name(f".{batch_id}.{os.getpid()}.staging")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            shutil.copyfile(source, staging / source.name)
            stat = source.stat()
            manifest = {
                "batch_id": batch_id,
                "sha256": sha256,
                "partitions": sorted(partitions),
                "source": "file_drop",
                "source_path": str(source),
                "file_name": source.name,
                "raw_path": str(final / source.name),
                "size_bytes": stat.st_size,
                "arrived_at": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                "ingested_at": datetime.now(UTC).isoformat(),
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
            # A directory rename is atomic: a batch is either wholly in raw or not there at all.
            os.rename(staging, final)
        for partition in manifest["partitions"]:
            entry = self._index(partition) / f"{batch_id}.json"
            if not entry.exists():
                atomic_write(entry, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))
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
