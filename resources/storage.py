"""The immutable raw layer and the quarantine beside it."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

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

    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        for manifest in self.raw_root.glob(f"*/{batch_id}/{MANIFEST}"):
            return json.loads(manifest.read_text())
        return None

    def ingest(self, source: Path, sha256: str, partition: str) -> tuple[dict[str, Any], bool]:
        """Copy a landed file into the raw layer once; returns (manifest, newly_ingested)."""
        batch_id = batch_id_for(sha256)
        known = self.find_batch(batch_id)
        if known is not None:
            return known, False
        final = self.raw_root / partition / batch_id
        staging = self.raw_root / partition / f".{batch_id}.{os.getpid()}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copyfile(source, staging / source.name)
        manifest = {
            "batch_id": batch_id,
            "sha256": sha256,
            "partition": partition,
            "source": "file_drop",
            "source_path": str(source),
            "file_name": source.name,
            "raw_path": str(final / source.name),
            "size_bytes": source.stat().st_size,
            "arrived_at": datetime.fromtimestamp(source.stat().st_mtime, UTC).isoformat(),
            "ingested_at": datetime.now(UTC).isoformat(),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        # A directory rename is atomic: a batch is either wholly in raw or not there at all.
        os.rename(staging, final)
        return manifest, True

    def batches(self, partition: str) -> list[dict[str, Any]]:
        folder = self.raw_root / partition
        manifests = sorted(folder.glob(f"*/{MANIFEST}")) if folder.exists() else []
        return [json.loads(p.read_text()) for p in manifests]

    def quarantine(self, manifest: dict[str, Any], reason: dict[str, Any]) -> Path:
        """Put a copy of a refused batch and why it was refused where people can find it."""
        final = self.quarantine_root / manifest["partition"] / manifest["batch_id"]
        staging = final.with_name(f".{final.name}.{os.getpid()}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copyfile(manifest["raw_path"], staging / manifest["file_name"])
        record = {
            **reason,
            "batch_id": manifest["batch_id"],
            "sha256": manifest["sha256"],
            "partition": manifest["partition"],
            "raw_path": manifest["raw_path"],
        }
        record["quarantined_at"] = datetime.now(UTC).isoformat()
        (staging / REASON).write_text(json.dumps(record, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staging, final)
        return final

    def quarantined(self, partition: str) -> list[dict[str, Any]]:
        folder = self.quarantine_root / partition
        reasons = sorted(folder.glob(f"*/{REASON}")) if folder.exists() else []
        return [json.loads(p.read_text()) for p in reasons]

    def all_quarantined(self) -> list[dict[str, Any]]:
        """Every batch currently held in quarantine, oldest partition first."""
        if not self.quarantine_root.exists():
            return []
        reasons = sorted(self.quarantine_root.glob(f"[!_]*/*/{REASON}"))
        return [json.loads(p.read_text()) for p in reasons]

    def release(self, partition: str, batch_id: str) -> bool:
        """Move a batch that now passes out of quarantine, keeping its record for the audit."""
        held = self.quarantine_root / partition / batch_id
        if not held.exists():
            return False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        released = self.quarantine_root / READMITTED / partition / f"{batch_id}-{stamp}"
        released.parent.mkdir(parents=True, exist_ok=True)
        os.rename(held, released)
        return True
