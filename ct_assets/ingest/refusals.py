"""Storage that refuses a write (full, over quota, read-only), said in one line naming the path.

Standard library only: the `ct` command line reads `StorageError` to print it as it is, and
must not import the storage layers (fsspec, Dagster) to do so.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

# What a refusing disk means to the person reading the error, and what to do about it.
_REFUSALS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
}
_REMEDY = {errno.EROFS: "make it writable, then retry the run"}
_FREE = "free space, then retry the run"


class StorageError(OSError):
    """Storage refused a write: one line naming the path and what to do.

    An `OSError` still (its errno kept), so code that already tolerates a failed write (the
    prediction log keeps its rows for the next flush) goes on doing so.
    """


def refusal(exc: OSError, path: Path | str) -> StorageError | None:
    """`exc` as a `StorageError` naming `path`, when it is a refusal of the storage itself."""
    what = _REFUSALS.get(exc.errno or 0)
    if what is None:
        return None
    # One argument, so that the message reads as it is (no "[Errno 28]" before it).
    named = StorageError(f"{what} writing {path} ({_REMEDY.get(exc.errno or 0, _FREE)})")
    named.errno = exc.errno
    return named


@contextlib.contextmanager
def refusals_named(path: Path | str, staging: Path | None = None) -> Iterator[None]:
    """Turn a full or read-only disk into a `StorageError` naming `path`; and after any failure
    leave no staging file behind (a full disk must not be filled further by leftovers)."""
    try:
        yield
    except BaseException as exc:
        if staging is not None:
            with contextlib.suppress(OSError):
                staging.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            named = refusal(exc, path)
            if named is not None:
                raise named from None
        raise
