"""Writing files so that no reader ever sees half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Let `write` fill a hidden sibling, then rename it over `path` in one step.

    The hidden name (leading dot, process id) is skipped by landing-folder scans and cannot
    collide between two processes writing the same target.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(str(tmp), str(path))
    return path
