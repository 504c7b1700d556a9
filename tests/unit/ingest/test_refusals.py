"""Unit tests of ct_assets/ingest/refusals.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from ct_assets.ingest.files import (
    atomic_write,
)
from ct_assets.ingest.refusals import StorageError


def test_a_write_that_fails_leaves_no_staging_file_and_names_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write refused by a full disk raises one StorageError naming the target and what to
    do; its half-written staging file is gone."""
    target = tmp_path / "raw" / "manifest.json"

    def half_then_full(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StorageError) as refused:
        atomic_write(target, half_then_full)
    assert str(refused.value) == (
        f"no space left on device writing {target} (free space, then retry the run)"
    )
    assert refused.value.errno == errno.ENOSPC
    assert list(target.parent.iterdir()) == []
