"""Recognising files in a landing folder: content hashes, batch ids and their time."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ct_assets.ml.parsing import read_batch
from ct_assets.ml.schema import EVENT_TIME

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


@dataclass(frozen=True)
class LandedFile:
    path: Path
    size: int
    mtime_ns: int

    @property
    def signature(self) -> str:
        """Cheap identity used to skip re-hashing a file that has not changed."""
        return f"{self.size}:{self.mtime_ns}"


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def batch_id_for(sha256: str) -> str:
    """Batch ids derive from content, so the same bytes are the same batch wherever they land."""
    return f"b-{sha256[:16]}"


def list_landing(folder: Path) -> list[LandedFile]:
    """Files ready for ingestion; hidden and temporary names are still being written."""
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith((".", "_")):
            continue
        if not path.name.lower().endswith(SUFFIXES):
            continue
        stat = path.stat()
        found.append(LandedFile(path, stat.st_size, stat.st_mtime_ns))
    return found


def batch_time(path: Path) -> datetime:
    """The time a batch belongs to: a date in its name, otherwise its earliest event time."""
    match = _DATE_IN_NAME.search(path.name)
    if match:
        return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    frame = read_batch(path)
    if EVENT_TIME not in frame.columns:
        raise ValueError(
            f"{path}: no date in the file name and no {EVENT_TIME!r} column to place it by"
        )
    times = pd.to_datetime(frame[EVENT_TIME], utc=True, errors="coerce").dropna()
    if times.empty:
        raise ValueError(f"{path}: column {EVENT_TIME!r} holds no parseable timestamp")
    return times.min().to_pydatetime()
