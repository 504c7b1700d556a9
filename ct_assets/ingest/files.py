"""Writing files so that no reader ever sees half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


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
