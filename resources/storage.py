"""The immutable raw layer and the quarantine beside it, on a local folder or object storage.

Layout under `base_dir` (a folder or `s3://bucket/prefix`):
- `raw/batches/<batch id>/<file>` and `manifest.json`: each batch once, byte for byte as it came;
- `raw/partitions/<partition>/<batch id>.json`: which batches hold rows of which partition (a
  batch whose events span days is indexed under each of them);
- `raw/sources/<source>/progress.json`: how far a pulled source (SQL, stream, API) has landed;
- `raw/landed/<file digest>.json` and `raw/landed/<partition>/<file digest>`: where each file
  seen in the landing folder belongs, so that a partition's run finds its files from one listing
  instead of reading every file that ever landed;
- `quarantine/<batch id>/<file>` and `reason.json`: refused batches, with why;
- `quarantine/<batch id>/set_aside.csv` and `set_aside.json`: the rows an accepted batch set
  aside (as delivered, with their lines and rules), with why;
- `quarantine/_readmitted/<batch id>-<time>/`: records of batches later re-admitted.

Publishing works the same on a disk and on an object store, which has no rename: the batch's
bytes go first under a key named by their hash (whoever writes them writes the same bytes), then
the manifest is created with a conditional write that exactly one writer wins. A batch exists
once its manifest does; that writer alone registers it, however many daemons saw the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg

from ct_assets.crash import crash_point
from ct_assets.ingest.files import (
    Location,
    create_object,
    data_root,
    keys_under,
    listing,
    read_bytes,
    read_json,
    remove,
    write_object,
)
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
LANDED = "landed"
INTENT = "intent.json"
# Pulled batches landed but not yet handed to a sensor tick that the daemon recorded.
UNREQUESTED = "unrequested"
REASON = "reason.json"
SET_ASIDE = "set_aside.json"
SET_ASIDE_ROWS = "set_aside.csv"
READMITTED = "_readmitted"
# When a record was written: the one field two writes of the same judgment differ in.
STAMP = "quarantined_at"


def _json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, indent=2, default=str).encode()


class ArtifactStore(dg.ConfigurableResource):
    """Where ct keeps what it stores outside Dagster: a folder, or a prefix on object storage."""

    base_dir: str
    endpoint_url: str | None = None
    # A project sharing `base_dir` with others keeps its artifacts under its own folder.
    namespace: str = ""

    @property
    def root(self) -> Location:
        root = data_root(self.base_dir, self.endpoint_url)
        return root / self.namespace if self.namespace else root


class BatchStore(ArtifactStore):
    """Raw batches kept byte for byte as they arrived, and refused batches with their reasons."""

    @property
    def raw_root(self) -> Location:
        return self.root / "raw"

    @property
    def quarantine_root(self) -> Location:
        return self.root / "quarantine"

    def _batch_dir(self, batch_id: str) -> Location:
        return self.raw_root / "batches" / batch_id

    def _index(self, partition: str) -> Location:
        return self.raw_root / "partitions" / partition

    def path_of(self, location: str) -> Location:
        """A path recorded in a manifest (`raw_path`), on the store it was written to."""
        if "://" in location and not location.startswith("file://"):
            return data_root(location, self.endpoint_url)
        return Path(location.removeprefix("file://"))

    def read_batch(self, manifest: dict[str, Any]) -> bytes:
        """A batch's bytes as they arrived, from this store: `raw_path` records where it was
        first written, but a raw layer copied to another store (local -> S3) reads from there."""
        try:
            return read_bytes(self._batch_dir(manifest["batch_id"]) / manifest["file_name"])
        except FileNotFoundError:
            return read_bytes(self.path_of(manifest["raw_path"]))

    def find_batch(self, batch_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = read_json(self._batch_dir(batch_id) / MANIFEST)
        return found

    def ingest(self, delivery: Delivery, partitions: list[str]) -> tuple[dict[str, Any], bool]:
        """Keep a delivered batch once, byte for byte, and index it under its partitions.

        Returns (manifest, newly_ingested): of any number of writers of the same bytes, from
        whichever source, path or process, exactly one gets True.
        """
        batch_id = batch_id_for(delivery.sha256)
        manifest = self.find_batch(batch_id)
        is_new = False
        if manifest is None:
            folder = self._batch_dir(batch_id)
            data = folder / delivery.file_name
            candidate: dict[str, Any] = {
                "batch_id": batch_id,
                "sha256": delivery.sha256,
                "partitions": sorted(partitions),
                "source": delivery.source,
                "source_path": delivery.source_ref,
                "file_name": delivery.file_name,
                "raw_path": str(data),
                "size_bytes": len(delivery.data),
                "rows": delivery.rows,
                "arrived_at": delivery.arrived_at.isoformat(),
                "ingested_at": datetime.now(UTC).isoformat(),
                "source_details": delivery.details,
            }
            write_object(data, delivery.data, durable=True, point="raw.batch")
            # Killed here, the bytes are kept without a manifest: no reader finds them (a batch
            # exists once its manifest does), and the next delivery or run writes the same bytes.
            crash_point("raw.batch.written")
            is_new = create_object(folder / MANIFEST, _json(candidate))
            # Killed here, the batch exists but no partition indexes it yet: the next run of
            # any of its partitions finds the manifest and writes every index entry.
            crash_point("raw.manifest.written")
            # The loser of a race reads the winner's manifest: one registration, one record.
            manifest = candidate if is_new else self.find_batch(batch_id)
            assert manifest is not None
        for partition in manifest["partitions"]:
            create_object(self._index(partition) / f"{batch_id}.json", _json(manifest))
        return manifest, is_new

    # Placements of dropped files. A file's record goes last, after one marker per partition:
    # a reader that sees the record also sees every partition it names.

    def placements(self) -> dict[str, list[str]]:
        """Files of the landing folder already placed: digest -> partitions, from one listing."""
        markers: dict[str, list[str]] = {}
        placed: set[str] = set()
        for key in keys_under(self.raw_root / LANDED):
            partition, _, name = key.rpartition("/")
            if partition:
                markers.setdefault(name, []).append(partition)
            else:
                placed.add(name.removesuffix(".json"))
        return {digest: sorted(markers.get(digest, [])) for digest in placed}

    def placement(self, digest: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = read_json(self.raw_root / LANDED / f"{digest}.json")
        return found

    def record_placement(self, digest: str, record: dict[str, Any]) -> None:
        """Remember where a landed file belongs (`record["partitions"]`); the same from any
        number of writers."""
        folder = self.raw_root / LANDED
        for partition in record["partitions"]:
            create_object(folder / partition / digest, b"")
        create_object(folder / f"{digest}.json", _json(record))

    # Progress of pulled sources (SQL watermark, stream position, API cursor). A pull is a small
    # write-ahead protocol: intent (batch id + progress after it) -> batch -> progress. A crash
    # anywhere leaves either the old progress (the batch never landed, read again) or rolls
    # forward to the new one (the batch landed), so rows are neither lost nor landed twice.

    def _progress_dir(self, source: str) -> Location:
        return self.raw_root / "sources" / source

    def source_progress(self, source: str) -> dict[str, Any]:
        """Where `source` resumes from: what every landed batch of it has covered."""
        folder = self._progress_dir(source)
        pending = read_json(folder / INTENT)
        if pending is not None:
            if self.find_batch(pending["batch_id"]) is not None:
                self._note_unrequested(source, pending["batch_id"])
                self._commit_progress(source, pending["progress"])
            remove(folder / INTENT)
        state: dict[str, Any] = read_json(folder / PROGRESS) or {}
        return state

    def _commit_progress(self, source: str, progress: dict[str, Any]) -> None:
        write_object(self._progress_dir(source) / PROGRESS, _json(progress), durable=True)

    def ingest_pulled(
        self, delivery: Delivery, partitions: list[str], progress: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Land a pulled batch, then record the progress it covers (never the other way round)."""
        folder = self._progress_dir(delivery.source)
        intent = {"batch_id": batch_id_for(delivery.sha256), "progress": progress}
        write_object(folder / INTENT, _json(intent), durable=True)
        manifest, is_new = self.ingest(delivery, partitions)
        self._note_unrequested(delivery.source, manifest["batch_id"])
        self._commit_progress(delivery.source, progress)
        remove(folder / INTENT)
        return manifest, is_new

    # A pulled batch is landed by a sensor tick whose run requests exist only once the daemon
    # records the tick: a tick that dies or times out after landing would leave the batch
    # landed, the source moved past it, and no run to read it. So each landed batch is noted
    # here until a later tick sees it in the cursor the daemon kept (`sensors/pulled.py`).

    def _note_unrequested(self, source: str, batch_id: str) -> None:
        write_object(self._progress_dir(source) / UNREQUESTED / batch_id, b"", durable=True)

    def unrequested(self, source: str) -> list[str]:
        """Ids of the source's landed batches no recorded sensor tick has taken yet."""
        return [p.name for p in listing(self._progress_dir(source) / UNREQUESTED)]

    def requested(self, source: str, batch_ids: list[str]) -> None:
        """The batches a recorded tick took: their runs are requested or wait in its cursor."""
        for batch_id in batch_ids:
            remove(self._progress_dir(source) / UNREQUESTED / batch_id)

    def batches(self, partition: str) -> list[dict[str, Any]]:
        records = listing(self._index(partition), "*.json")
        return [json.loads(read_bytes(p, small=True)) for p in records]

    @staticmethod
    def _record(manifest: dict[str, Any], reason: dict[str, Any]) -> dict[str, Any]:
        return json.loads(
            _json(
                {
                    **reason,
                    "batch_id": manifest["batch_id"],
                    "sha256": manifest["sha256"],
                    # Manifests read back from Parquet carry arrays; a record stays plain JSON.
                    "partitions": [str(p) for p in manifest["partitions"]],
                    "raw_path": manifest["raw_path"],
                }
            )
        )

    @staticmethod
    def _holds(path: Location, record: dict[str, Any]) -> bool:
        """`path` already holds `record` (but for when it was written).

        A batch whose events span two partitions is judged by each partition's run, the same
        way: the second run leaves the first's record as it was.
        """
        kept = read_json(path)
        return kept is not None and {k: v for k, v in kept.items() if k != STAMP} == record

    def quarantine(self, manifest: dict[str, Any], reason: dict[str, Any]) -> Location:
        """Put a copy of a refused batch and why it was refused where people can find it.

        The reason is written last: a batch is in quarantine once its reason is there.
        """
        held = self.quarantine_root / manifest["batch_id"]
        record = self._record(manifest, {"kind": "refused", **reason})
        if self._holds(held / REASON, record):
            return held
        # Refused whole, the batch holds every row: rows it once set aside are in the copy.
        for name in (SET_ASIDE, SET_ASIDE_ROWS):
            remove(held / name)
        write_object(held / manifest["file_name"], self.read_batch(manifest))
        # Killed here, the copy is there without its reason: not in quarantine yet, and the
        # rerun of the partition judges the batch again and writes both.
        crash_point("quarantine.record")
        write_object(held / REASON, _json({**record, STAMP: datetime.now(UTC).isoformat()}))
        return held

    def set_aside(
        self, manifest: dict[str, Any], reason: dict[str, Any], rows: bytes
    ) -> tuple[Location, bool]:
        """Keep the rows an accepted batch set aside (`rows`: a CSV of them as delivered, with
        their lines and rules) and why, beside the refused batches.

        Returns where, and whether a refusal of the batch was released for it (the batch is
        accepted now). The record is written last, as a refusal's reason is.
        """
        held = self.quarantine_root / manifest["batch_id"]
        released = self.release(manifest["batch_id"], (REASON,))
        record = self._record(manifest, {"kind": "set_aside", **reason})
        if not self._holds(held / SET_ASIDE, record):
            # An earlier judgment's record goes first: killed while the rows are replaced, the
            # batch shows no rows set aside (and the rerun writes both), never a record beside
            # rows it does not describe.
            remove(held / SET_ASIDE)
            write_object(held / SET_ASIDE_ROWS, rows)
            crash_point("quarantine.set_aside")
            write_object(held / SET_ASIDE, _json({**record, STAMP: datetime.now(UTC).isoformat()}))
        return held, released

    def all_quarantined(self) -> list[dict[str, Any]]:
        """Every batch currently held in quarantine: refused whole (`kind` refused) or with
        rows set aside (`kind` set_aside)."""
        found = listing(self.quarantine_root, "[!_.]*/*.json")
        records = [
            json.loads(read_bytes(p, small=True)) for p in found if p.name in (REASON, SET_ASIDE)
        ]
        for record in records:
            record.setdefault("kind", "refused")  # recorded before rows could be set aside
        return sorted(records, key=lambda r: (r["partitions"], r["batch_id"], r["kind"]))

    def quarantined(self, partition: str) -> list[dict[str, Any]]:
        return [r for r in self.all_quarantined() if partition in r["partitions"]]

    def release(self, batch_id: str, records: tuple[str, ...] = (REASON, SET_ASIDE)) -> bool:
        """Move a batch that now passes (or sets nothing aside) out of quarantine, keeping its
        record for the audit; `records` says which kinds of record to release.

        The record is copied to `_readmitted/` before it goes: a crash in between leaves the
        batch still held, never neither.
        """
        held = self.quarantine_root / batch_id
        entries = listing(held)
        found = [e for e in entries if e.name in records]
        if not found:
            return False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        released = self.quarantine_root / READMITTED / f"{batch_id}-{stamp}"
        for entry in entries:
            write_object(released / entry.name, read_bytes(entry))
        for entry in found:
            remove(entry)
        for entry in listing(held):
            remove(entry)
        return True
