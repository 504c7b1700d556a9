"""Writing files so that no reader ever sees half of one, nor a killed writer's leftovers."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from upath import UPath

from ct_assets.crash import crash_point
from ct_assets.ingest.refusals import refusals_named

# A staging file whose writer may be on another machine is only removed once it is this old.
STALE_AFTER = 24 * 3600.0
_HOST = socket.gethostname().replace(".", "-")


def staging_path(path: Path) -> Path:
    """A hidden sibling of `path` no other writer (process, thread or machine) can choose.

    The leading dot keeps it out of every listing (`listing`, `keys_under`, landing scans); the
    pid and host let a later writer tell a dead writer's leftover from a live writer's file.
    """
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}@{_HOST}.tmp")


def _abandoned(staging: Path) -> bool:
    """A staging file whose writer is gone: a dead process on this host, or old enough that no
    write on another host can still be filling it."""
    try:
        age = time.time() - staging.stat().st_mtime
    except FileNotFoundError:
        return False
    owner, _, host = staging.name.removesuffix(".tmp").rpartition(".")[2].partition("@")
    pid = owner.partition("-")[0]
    if host == _HOST and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return age > STALE_AFTER
    return age > STALE_AFTER


def sweep_staging(folder: Path, name: str = "*") -> list[Path]:
    """Remove staging files that a killed writer left in `folder` (for target `name`, or any);
    the ones removed. A crash between writing a staging file and renaming it leaves it."""
    removed = []
    target = name if name == "*" else glob.escape(name)
    for staging in folder.glob(f".{target}.*.tmp"):
        if _abandoned(staging):
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            removed.append(staging)
    return removed


def atomic_write(
    path: Path,
    write: Callable[[Path], object],
    durable: bool = False,
    point: str = "",
    sweep: bool = True,
) -> Path:
    """Let `write` fill a hidden sibling, then rename it over `path` in one step.

    The hidden name is skipped by listings and landing-folder scans and cannot collide between
    two writers of the same target; a killed writer's leftover is removed by the next writer of
    that target (`sweep`; a writer of ever-new names sweeps its folder itself, once, rather
    than list it on every write). `durable` also flushes the bytes and the rename to disk, for
    records that must survive a power cut (source progress). `point` names the crash point
    between the staging file and the rename (`<point>.tmp`), for the crash tests.
    """
    with refusals_named(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if sweep:
            sweep_staging(path.parent, path.name)
    tmp = staging_path(path)
    with refusals_named(path, tmp):
        write(tmp)
        if durable:
            fsync_path(tmp)
        if point:
            crash_point(f"{point}.tmp")
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


def write_object(path: Location, data: bytes, durable: bool = False, point: str = "") -> Location:
    """Write `data` at `path` so that a reader sees the old bytes or the new, never part."""
    if (obj := remote(path)) is None:
        return atomic_write(local_path(path), lambda tmp: tmp.write_bytes(data), durable, point)
    obj.fs.pipe_file(obj.path, data)
    return obj


def write_whole(
    path: Location, write: Callable[[Any], object], point: str = "", sweep: bool = True
) -> Location:
    """Let `write` fill a file (local) or a buffer (object store), then publish it whole."""
    if remote(path) is None:
        return atomic_write(local_path(path), write, point=point, sweep=sweep)
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
    with refusals_named(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_staging(target.parent, target.name)
    tmp = staging_path(target)
    with refusals_named(target, tmp):
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
