"""Recognising delivered data: content hashes, batch ids and the partitions of its event times."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from ct_assets.ingest.parsing import SUFFIXES, parse_spec_bytes
from ct_assets.ml.schema import parse_times
from ct_assets.project.spec import ProjectSpec

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class LandedFile:
    """A file waiting in a landing folder, local or in object storage."""

    path: str
    size: int
    modified: str
    arrived_at: datetime

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def signature(self) -> str:
        """Cheap identity used to skip re-hashing a file that has not changed."""
        return f"{self.size}:{self.modified}"


def landing_digest(landed: LandedFile) -> str:
    """Names a landed file as it is now (path and signature) without reading it: the same
    file unchanged has the same digest, a file rewritten in place a new one."""
    return hashlib.sha256(f"{landed.path}\n{landed.signature}".encode()).hexdigest()[:32]


def bytes_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def batch_id_for(sha256: str) -> str:
    """Batch ids derive from content, so the same bytes are the same batch wherever they land."""
    return f"b-{sha256[:16]}"


def is_ready(name: str) -> bool:
    """Hidden and temporary names are still being written; unknown formats are not ours."""
    return not name.startswith((".", "_")) and name.lower().endswith(SUFFIXES)


def in_folders(path: str, root: str, folders: Sequence[str]) -> bool:
    """Whether `path` lies in one of `folders` (names relative to the landing root `root`).

    Such folders hold other deliveries than data batches (delayed labels): never ingested.
    """
    relative = path[len(root) :].lstrip("/") if path.startswith(root) else path
    return any(relative.startswith(f"{folder.strip('/')}/") for folder in folders)


def fallback_time(name: str, arrived_at: datetime) -> datetime:
    """Where data without readable event times is placed: a date in its name, else arrival."""
    match = _DATE_IN_NAME.search(name)
    if match:
        return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    return arrived_at


def event_times(frame: pd.DataFrame | None, spec: ProjectSpec) -> pd.Series | None:
    """The parseable event times of a frame, or None when it has none to offer."""
    name = spec.dataset.time
    if frame is None or name not in frame.columns:
        return None
    times, _ = parse_times(frame[name], spec.column(name))
    times = times.dropna()
    return times if len(times) else None


def partitions_of_frame(
    frame: pd.DataFrame | None,
    fallback: datetime,
    key_of: Callable[[datetime], str | None],
    what: str,
    spec: ProjectSpec,
) -> list[str]:
    """The partitions a batch's rows belong to, by event time.

    Rows are placed by their own event time, so a batch spanning two days lands in both. A batch
    with no placeable event time (unreadable, or times outside every partition) still lands, by
    its fallback time, so that it is validated and quarantined rather than lost.
    """
    times = event_times(frame, spec)
    keys: set[str] = set()
    if times is not None:
        # Unique steps (an hour, or a partition when shorter) keep this cheap for big batches.
        step = min(spec.partitions.period.length, timedelta(hours=1))
        for moment in times.dt.floor(pd.Timedelta(step)).unique():
            key = key_of(moment.to_pydatetime())
            if key is not None:
                keys.add(key)
    if not keys:
        # A file arriving during a partition that is not complete yet (today's) and without
        # readable times (refused, say, for its dialect) lands in the newest partition there
        # is, so that it is quarantined with its reason now rather than waiting unseen.
        fallback_key = key_of(fallback) or key_of(fallback - spec.partitions.period.length)
        if fallback_key is None:
            raise ValueError(f"{what}: neither its event times nor its date fit any partition")
        keys.add(fallback_key)
    return sorted(keys)


def placement(
    data: bytes,
    name: str,
    arrived_at: datetime,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
) -> tuple[list[str], int | None]:
    """A delivery's partitions and its row count (None when it cannot be parsed), from one parse."""
    frame = parse_spec_bytes(data, name, spec).frame
    partitions = partitions_of_frame(frame, fallback_time(name, arrived_at), key_of, name, spec)
    return partitions, None if frame is None else len(frame)


def partitions_of_bytes(
    data: bytes,
    name: str,
    arrived_at: datetime,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
) -> list[str]:
    return placement(data, name, arrived_at, key_of, spec)[0]
