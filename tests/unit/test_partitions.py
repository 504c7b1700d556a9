"""Unit tests of ct_assets/partitions.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ct_assets.ingest.landing import partitions_of_bytes, partitions_of_frame
from ct_assets.io.predictions import partition_key_at
from ct_assets.partitions import build_partitions, partition_key_of
from ct_assets.project.load import PROJECT_FILE, read_spec
from ct_assets.project.spec import GRANULARITIES, PERIODS, ProjectSpec
from tests.conftest import EXAMPLES, START
from tests.helpers.granularities import with_partitions

DAILY = dg.DailyPartitionsDefinition(start_date=START.isoformat(), end_date="2026-03-01")


SHOP = read_spec(EXAMPLES / "shop" / PROJECT_FILE, {})


ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE, {})


def write_times(path: Path, times: list[datetime]) -> Path:
    stamps = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
    pd.DataFrame({"event_time": stamps, "x": range(len(times))}).to_csv(path, index=False)
    return path


def write_epochs(path: Path, times: list[datetime]) -> Path:
    """Times as the energy example's meters send them: epoch seconds."""
    stamps = [int(t.timestamp()) for t in times]
    pd.DataFrame({"timestamp": stamps, "x": range(len(times))}).to_csv(path, index=False)
    return path


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 2, 27, 23, 59, 59)
).map(lambda d: d.replace(tzinfo=UTC))


def partitions_of_file(
    path: Path, key_of: Callable[[datetime], str | None], spec: ProjectSpec = SHOP
) -> list[str]:
    arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return partitions_of_bytes(path.read_bytes(), path.name, arrived, key_of, spec)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(times=st.lists(moments, min_size=1, max_size=40))
def test_partitions_of_a_file_are_exactly_the_days_of_its_events(
    tmp_path: Path, times: list[datetime]
) -> None:
    path = write_times(tmp_path / "batch.csv", times)
    placed = partitions_of_file(path, partition_key_of(DAILY))
    assert placed == sorted({t.date().isoformat() for t in times})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(times=st.lists(moments.map(lambda d: d.replace(microsecond=0)), min_size=1, max_size=40))
def test_epoch_times_place_a_file_in_exactly_the_days_of_its_events(
    tmp_path: Path, times: list[datetime]
) -> None:
    path = write_epochs(tmp_path / "meters.csv", times)
    placed = partitions_of_file(path, partition_key_of(DAILY), ENERGY)
    assert placed == sorted({t.date().isoformat() for t in times})


@pytest.mark.parametrize("spec", [SHOP, ENERGY], ids=["shop", "energy"])
def test_a_file_without_event_times_is_placed_by_its_name_or_arrival(
    tmp_path: Path, spec: ProjectSpec
) -> None:
    named = tmp_path / "export_2026-01-05.csv"
    named.write_bytes(b"\xff\xfe not text")
    assert partitions_of_file(named, partition_key_of(DAILY), spec) == ["2026-01-05"]

    def key_of(moment: datetime) -> str | None:
        return "arrival" if moment.date() == datetime.now(UTC).date() else None

    unnamed = tmp_path / "export.csv"
    unnamed.write_text("a,b\n1,2\n")
    assert partitions_of_file(unnamed, key_of, spec) == ["arrival"]


START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("granularity", "first"),
    [
        ("5-minute", ["2026-03-01-09:15", "2026-03-01-09:20", "2026-03-01-09:25"]),
        ("15-minute", ["2026-03-01-09:15", "2026-03-01-09:30", "2026-03-01-09:45"]),
    ],
)
def test_short_partitions_start_at_the_declared_time_and_step_by_their_length(
    granularity: str, first: list[str]
) -> None:
    partitions = build_partitions(with_partitions(granularity, "2026-03-01T09:15"))
    keys = partitions.get_partition_keys(current_time=datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    assert keys[:3] == first
    # Only complete partitions exist: up to the one ending at 10:00.
    length = PERIODS[granularity].length
    assert len(keys) == timedelta(minutes=45) // length
    window = partitions.time_window_for_partition_key(keys[0])
    assert window.end - window.start == length


def test_the_long_granularities_keep_dagsters_keys() -> None:
    keys = {
        g: build_partitions(with_partitions(g, "2026-03-01")).get_partition_keys(
            current_time=datetime(2026, 3, 16, tzinfo=UTC)
        )[:2]
        for g in ("hourly", "daily", "weekly")
    }
    assert keys["hourly"] == ["2026-03-01-00:00", "2026-03-01-01:00"]
    assert keys["daily"] == ["2026-03-01", "2026-03-02"]
    assert keys["weekly"] == ["2026-03-01", "2026-03-08"]  # 1 March 2026 is a Sunday


@settings(max_examples=200, deadline=None)
@given(
    granularity=st.sampled_from(GRANULARITIES),
    seconds=st.integers(min_value=0, max_value=60 * 86_400),
)
def test_the_key_of_a_moment_is_the_one_dagster_gives(granularity: str, seconds: int) -> None:
    spec = with_partitions(granularity, "2026-03-01")
    partitions = build_partitions(spec)
    moment = START + timedelta(seconds=seconds)
    expected = partitions.get_partition_key_for_timestamp(moment.timestamp())
    assert partition_key_at(moment, granularity) == expected


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        (
            "5-minute",
            ["2026-03-01-09:00", "2026-03-01-09:10", "2026-03-01-09:15", "2026-03-01-09:55"],
        ),
        ("15-minute", ["2026-03-01-09:00", "2026-03-01-09:15", "2026-03-01-09:45"]),
    ],
)
def test_a_batch_spanning_short_partitions_lands_in_each_it_touches(
    granularity: str, expected: list[str]
) -> None:
    spec = with_partitions(granularity, "2026-03-01T09:00")
    key_of = partition_key_of(build_partitions(spec))
    # Inside 09:00-09:05, both sides of 09:15, and 09:59:59.
    seconds = [10, 299, 14 * 60 + 59, 15 * 60, 59 * 60 + 59]
    stamps = [int(START.timestamp()) + 9 * 3600 + s for s in seconds]
    frame = pd.DataFrame({"timestamp": [str(s) for s in stamps]})
    placed = partitions_of_frame(frame, START, key_of, "batch", spec)
    assert placed == expected


def test_a_streams_events_of_the_partition_under_way_are_placed_in_it() -> None:
    now = datetime.now(UTC)
    period = PERIODS["5-minute"]
    start = period.begin(now) - timedelta(minutes=15)
    spec = with_partitions("5-minute", start.strftime("%Y-%m-%dT%H:%M"))
    partitions = build_partitions(spec)
    assert partition_key_of(partitions)(now) is None  # Dagster has no such partition yet
    assert partition_key_of(partitions, in_progress=True)(now) == period.key_at(now)
    later = now + timedelta(minutes=10)
    assert partition_key_of(partitions, in_progress=True)(later) is None
    assert partition_key_of(partitions, in_progress=True)(start - timedelta(minutes=1)) is None


def test_a_partition_that_begins_during_a_tick_takes_its_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key_of made before a partition began places its events once it has begun (a soak's
    tick outlasted 21:50:00 and set aside the events of 21:50 as in no partition)."""
    period = PERIODS["5-minute"]
    made = datetime.now(UTC)
    start = period.begin(made) - timedelta(minutes=15)
    partitions = build_partitions(with_partitions("5-minute", start.strftime("%Y-%m-%dT%H:%M")))
    key_of = partition_key_of(partitions, in_progress=True)
    next_one = period.begin(made) + period.length

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return next_one + timedelta(seconds=2)

    monkeypatch.setattr("ct_assets.partitions.datetime", Later)
    assert key_of(next_one + timedelta(seconds=1)) == period.key_at(next_one)
    assert key_of(next_one - timedelta(seconds=1)) == period.key_at(made)
