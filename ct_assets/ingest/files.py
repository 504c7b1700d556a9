"""Writing files so that no reader ever sees half of one."""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from upath import UPath


def atomic_write(path: Path, write: Callable[[Path], object], durable: bool = False) -> Path:
    """Let `write` fill a hidden sibling, then rename it over `path` in one step.

    The hidden name (leading dot, process id) is skipped by landing-folder scans and cannot
    collide between two processes writing the same target. `durable` also flushes the bytes and
    the rename to disk, for records that must survive a power cut (source progress).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    if durable:
        fsync_path(tmp)
    os.replace(str(tmp), str(path))
    if durable:
        fsync_path(path.parent)
    return path


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Stored artifacts live in a local folder or on object storage (s3://, through fsspec). An object
# store has no rename; what it has is a PUT that becomes visible whole or not at all, and a
# conditional PUT (If-None-Match: *) that only one writer of a key can win. ct's protocols are
# built on those two, and on a local disk on their equivalents: rename and link.


# A stored artifact's location: a local path, or a path on object storage.
Location = Path | UPath


def data_root(base: str, endpoint_url: str | None = None) -> Location:
    """The folder or object-store prefix `base` as a path every stage writes under."""
    if "://" not in base or base.startswith("file://"):
        return Path(base.removeprefix("file://")).expanduser()
    # Listings are read fresh: a sensor in a long-lived daemon must see objects that others put.
    options: dict[str, Any] = {"use_listings_cache": False}
    if endpoint_url and base.startswith("s3://"):
        options["endpoint_url"] = endpoint_url
    return UPath(base, **options)


def remote(path: Location) -> UPath | None:
    """The object-store path, or None for a local one."""
    if isinstance(path, UPath) and path.protocol not in ("", "file", "local"):
        return path
    return None


def local_path(path: Location) -> Path:
    return Path(path.path) if isinstance(path, UPath) else path


def write_object(path: Location, data: bytes, durable: bool = False) -> Location:
    """Write `data` at `path` so that a reader sees the old bytes or the new, never part."""
    if (obj := remote(path)) is None:
        return atomic_write(local_path(path), lambda tmp: tmp.write_bytes(data), durable)
    obj.fs.pipe_file(obj.path, data)
    return obj


def write_whole(path: Location, write: Callable[[Any], object]) -> Location:
    """Let `write` fill a file (local) or a buffer (object store), then publish it whole."""
    if remote(path) is None:
        return atomic_write(local_path(path), write)
    buffer = io.BytesIO()
    write(buffer)
    return write_object(path, buffer.getvalue())


def create_object(path: Location, data: bytes) -> bool:
    """Write `data` at `path` only if nothing is there yet; True when this call created it.

    Of writers racing on one key exactly one wins: on disk by `link` (which refuses an existing
    name), on object storage by a conditional PUT (If-None-Match).
    """
    if (obj := remote(path)) is not None:
        try:
            obj.fs.pipe_file(obj.path, data, mode="create")
        except FileExistsError:
            return False
        return True
    target = local_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    fsync_path(tmp)
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    fsync_path(target.parent)
    return True


def read_bytes(path: Location, small: bool = False) -> bytes:
    """A file's or an object's bytes (FileNotFoundError when there is none).

    Opening an object would first ask for its details (and list its "folder" when it is
    missing); fetching it whole does not. s3fs still asks for an object's size, to fetch a big
    one in parallel ranges: a `small` object (a record) is one GET.
    """
    if (obj := remote(path)) is not None:
        options = {"max_concurrency": 1} if small and obj.protocol in ("s3", "s3a") else {}
        return bytes(obj.fs.cat_file(obj.path, **options))
    return local_path(path).read_bytes()


def read_json(path: Location) -> Any:
    """A JSON record, or None when there is none (yet)."""
    try:
        return json.loads(read_bytes(path, small=True))
    except FileNotFoundError:
        return None


def remove(path: Location) -> None:
    """Delete one file or object; one that is already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def listing(folder: Location, pattern: str = "*") -> list[Location]:
    """Entries of a folder or prefix matching `pattern`, sorted; hidden (staging) names skipped.

    On object storage, the objects under the prefix matched segment by segment from one
    recursive listing: a glob there asks for the prefix's details and lists each level.
    """
    if remote(folder) is not None:
        segments = pattern.split("/")
        return [
            folder / key
            for key in keys_under(folder)
            if len(parts := key.split("/")) == len(segments)
            and all(fnmatchcase(part, seg) for part, seg in zip(parts, segments, strict=True))
        ]
    try:
        found: list[Location] = [p for p in folder.glob(pattern) if isinstance(p, Path | UPath)]
    except FileNotFoundError:
        return []
    return sorted((p for p in found if not p.name.startswith(".")), key=str)


def keys_under(folder: Location) -> list[str]:
    """Every file below `folder`, as a path relative to it, sorted; hidden (staging) names
    skipped. On object storage this is one recursive listing of the prefix (paginated), not a
    request per subfolder as a glob would make."""
    if (obj := remote(folder)) is not None:
        base = obj.path.rstrip("/") + "/"
        try:
            found = [p[len(base) :] for p in obj.fs.find(base) if p.startswith(base)]
        except FileNotFoundError:
            return []
    else:
        root = local_path(folder)
        found = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    return sorted(k for k in found if not k.rsplit("/", 1)[-1].startswith("."))


def modified_at(path: Location) -> float:
    """When a file or object was last written, in seconds since the epoch."""
    if (obj := remote(path)) is None:
        return local_path(path).stat().st_mtime
    stamp = obj.fs.info(obj.path).get("LastModified")
    return float(stamp.timestamp()) if stamp is not None else 0.0
