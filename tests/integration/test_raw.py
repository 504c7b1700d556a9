"""Landing dropped files into raw: a partition's run reads its own files, not the whole landing."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable

import pandas as pd
import pytest

from ct_assets.ingest.landing import LandedFile
from ct_assets.partitions import build_partitions, partition_key_of
from ct_assets.stages.raw import land_dropped_files
from resources.sources import FileDropSource
from resources.storage import BatchStore, Delivery
from tests.conftest import Deployment

reads: list[str] = []


class CountingDrop(FileDropSource):
    """The real file-drop resource, noting every file it reads."""

    def delivery(self, landed: LandedFile) -> Delivery:
        reads.append(landed.name)
        return super().delivery(landed)


def lander(project: Deployment) -> Callable[[str], list[str]]:
    """Lands a partition's dropped files, as `raw_batches` does, through a counting file drop."""
    drop = project.resource("file_drop")
    counting = CountingDrop(url=drop.url, skip_folders=drop.skip_folders)
    store: BatchStore = project.resource("batch_store")
    key_of = partition_key_of(build_partitions(project.spec))

    def run(partition: str) -> list[str]:
        reads.clear()
        return land_dropped_files(
            partition, counting, store, key_of, project.spec, logging.getLogger(__name__)
        )

    return run


@pytest.fixture
def land(project: Deployment) -> Callable[[str], list[str]]:
    return lander(project)


@pytest.mark.parametrize("example", ["shop", "energy"])
def test_once_every_file_is_placed_a_run_reads_only_its_own(
    request: pytest.FixtureRequest, example: str
) -> None:
    # shop: an entity and ISO times; energy: no entity, epoch seconds, a regression label.
    project: Deployment = request.getfixturevalue("project" if example == "shop" else example)
    land = lander(project)
    for index in range(5):
        project.drop_day(index)
    store: BatchStore = project.resource("batch_store")
    names = [project.source.day_name(i) for i in range(5)]

    assert len(land(project.partition(0))) == 1
    assert sorted(reads) == sorted(names)  # the first run places every file it finds

    (new,) = land(project.partition(3))
    assert reads == [names[3]]
    (batch,) = store.batches(project.partition(3))
    assert batch["batch_id"] == new
    assert batch["file_name"] == names[3]
    # The row count read when the file was placed, by the other partition's run.
    assert batch["rows"] == len(project.source.day(3))
    # A second run of the same partition registers nothing new.
    assert land(project.partition(3)) == []


def test_a_file_rewritten_in_place_is_placed_again(project: Deployment, land) -> None:
    project.drop_day(0)
    path = project.drop_day(1)
    land(project.partition(0))
    fewer = project.source.day(1).head(50)
    project.drop_day(1, fewer)

    land(project.partition(1))

    (batch,) = project.resource("batch_store").batches(project.partition(1))
    assert batch["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert batch["rows"] == 50


def test_a_file_spanning_two_days_is_landed_by_each_days_run(project: Deployment, land) -> None:
    both = pd.concat([project.source.day(1), project.source.day(2)], ignore_index=True)
    project.drop_day(1, both, name="two_days.csv")
    project.drop_day(0)
    land(project.partition(0))

    (first,) = land(project.partition(1))
    assert reads == ["two_days.csv"]
    assert land(project.partition(2)) == []  # the same bytes: one batch, indexed under both
    store: BatchStore = project.resource("batch_store")
    assert [b["batch_id"] for b in store.batches(project.partition(2))] == [first]
    assert store.find_batch(first)["partitions"] == [project.partition(1), project.partition(2)]


def test_an_unplaceable_file_is_named_and_read_again_next_time(
    project: Deployment, land, caplog: pytest.LogCaptureFixture
) -> None:
    project.drop_day(0)
    # No event time, no date in its name, and it arrived before the first partition.
    notes = project.landing / "notes.csv"
    notes.write_text("a,b\n1,2\n")
    os.utime(notes, (1_577_836_800, 1_577_836_800))  # 2020-01-01
    with caplog.at_level(logging.WARNING):
        land(project.partition(0))
    assert "notes.csv" in caplog.text
    land(project.partition(0))
    assert "notes.csv" in reads


def test_a_file_rewritten_under_the_same_signature_lands_its_new_bytes(
    project: Deployment, land
) -> None:
    project.drop_day(0)
    path = project.drop_day(1)
    land(project.partition(0))
    before = path.stat()
    data = path.read_bytes()
    # One event moved to the next day, in as many bytes, under the same modification time:
    # the signature cannot tell, the bytes' hash can.
    day, next_day = (f",{project.partition(i)}T".encode() for i in (1, 2))
    changed = data.replace(day, next_day, 1)
    assert changed != data and len(changed) == len(data)
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    land(project.partition(1))

    (batch,) = project.resource("batch_store").batches(project.partition(1))
    assert batch["sha256"] == hashlib.sha256(changed).hexdigest()
    assert batch["partitions"] == [project.partition(1), project.partition(2)]
