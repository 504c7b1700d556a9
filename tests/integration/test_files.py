"""Stored artifacts on a folder and on S3 (moto's server over HTTP) read back the same way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ct_assets.ingest.files import (
    STALE_AFTER,
    Location,
    data_root,
    keys_under,
    listing,
    read_bytes,
    write_object,
)
from tests.services import S3Server

KEYS = [
    "index/2026-01-01/b-1.json",
    "index/2026-01-01/b-2.json",
    "index/2026-01-01/.b-3.json.123.tmp",
    "index/2026-01-01/notes.txt",
    "quarantine/b-1/reason.json",
    "quarantine/b-1/data.csv",
    "quarantine/_readmitted/b-0-20260101/reason.json",
    "predictions/2026-01-01/a.parquet",
    "predictions/2026-01-02/b.parquet",
    "predictions/2026-01-02/deeper/c.parquet",
]
PATTERNS = [
    ("index/2026-01-01", "*.json"),
    ("quarantine", "[!_.]*/reason.json"),
    ("quarantine/b-1", "*"),
    ("predictions", "*/*.parquet"),
    ("missing", "*.json"),
]


def filled(root: Location) -> Location:
    for key in KEYS:
        write_object(root / key, key.encode())
    return root


def relative(found: list[Location], root: Location) -> list[str]:
    return [str(p)[len(str(root)) + 1 :] for p in found]


@pytest.mark.parametrize(("folder", "pattern"), PATTERNS)
def test_a_listing_on_s3_finds_what_the_same_listing_on_disk_finds(
    tmp_path: Path, s3_server: S3Server, folder: str, pattern: str
) -> None:
    s3_server.make_bucket("ct-files")
    local = filled(data_root(str(tmp_path / "data")))
    remote = filled(data_root("s3://ct-files/data", s3_server.url))

    on_disk = relative(listing(local / folder, pattern), local)
    on_s3 = relative(listing(remote / folder, pattern), remote)

    assert on_s3 == on_disk
    assert not any(p.rsplit("/", 1)[-1].startswith(".") for p in on_s3)
    assert all(read_bytes(remote / key, small=True) == key.encode() for key in on_s3)


def test_keys_under_lists_every_file_below_a_prefix_once(
    tmp_path: Path, s3_server: S3Server
) -> None:
    s3_server.make_bucket("ct-files")
    remote = filled(data_root("s3://ct-files/data", s3_server.url))
    expected = sorted(k.removeprefix("predictions/") for k in KEYS if k.startswith("predictions/"))
    assert keys_under(remote / "predictions") == expected
    assert keys_under(remote / "nothing-here") == []
    with pytest.raises(FileNotFoundError):
        read_bytes(remote / "nothing-here.json", small=True)


def test_a_killed_writers_staging_file_is_swept_and_a_live_writers_is_kept(tmp_path: Path) -> None:
    """The next writer of a target removes the staging file of a writer that died on this host
    (or one old enough that no writer elsewhere can still fill it), never a live writer's."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    host = socket.gethostname().replace(".", "-")
    target = tmp_path / "validated" / "2026-01-01.parquet"
    target.parent.mkdir()
    left = {
        "dead": target.with_name(f".{target.name}.{dead}-aaaaaaaa@{host}.tmp"),
        "live": target.with_name(f".{target.name}.{os.getpid()}-bbbbbbbb@{host}.tmp"),
        "elsewhere": target.with_name(f".{target.name}.{dead}-cccccccc@other-host.tmp"),
        "old": target.with_name(f".{target.name}.{dead}-dddddddd@other-host-2.tmp"),
    }
    for path in left.values():
        path.write_bytes(b"half")
    old = time.time() - STALE_AFTER - 60
    os.utime(left["old"], (old, old))

    write_object(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert sorted(p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")) == sorted(
        left[k].name for k in ("live", "elsewhere")
    )
