"""Recognising files in a landing folder: content hashes, batch ids and their time."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ct_assets.ml.parsing import CSV_SUFFIXES, PARQUET_SUFFIXES, parse_file
from ct_assets.ml.schema import EVENT_TIME

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES


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


def fallback_time(path: Path) -> datetime:
    """Where a file without readable event times is placed: a date in its name, else arrival."""
    match = _DATE_IN_NAME.search(path.name)
    if match:
        return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def event_times(path: Path) -> pd.Series | None:
    """The parseable event times of a file, or None when it has none to offer."""
    parsed = parse_file(path)
    if parsed.frame is None or EVENT_TIME not in parsed.frame.columns:
        return None
    times = pd.to_datetime(parsed.frame[EVENT_TIME], utc=True, errors="coerce").dropna()
    return times if len(times) else None


def partitions_of_file(path: Path, key_of: Callable[[datetime], str | None]) -> list[str]:
    """The partitions a file's rows belong to, by event time.

    Rows are placed by their own event time, so a file spanning two days lands in both. A file
    with no placeable event time (unreadable, or times outside every partition) still lands,
    by its fallback time, so that it is validated and quarantined rather than lost.
    """
    times = event_times(path)
    keys: set[str] = set()
    if times is not None:
        # Unique hours keep this cheap for big files; no partitioning is finer than an hour.
        for hour in times.dt.floor("h").unique():
            key = key_of(hour.to_pydatetime())
            if key is not None:
                keys.add(key)
    if not keys:
        fallback = key_of(fallback_time(path))
        if fallback is None:
            raise ValueError(f"{path}: neither its event times nor its date fit any partition")
        keys.add(fallback)
    return sorted(keys)
