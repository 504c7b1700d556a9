"""Partition granularities, down to 5 minutes: keys as Dagster spells them, the key of a moment,
and where delivered rows land. Pure: no instance, no daemon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ct_assets.ingest.landing import partitions_of_frame
from ct_assets.ml.predictions import partition_key_at
from ct_assets.partitions import build_partitions, partition_key_of
from ct_assets.project.load import PROJECT_FILE, deep_merge, read_spec
from ct_assets.project.spec import GRANULARITIES, PERIODS, ProjectSpec
from sensors.pulled import due_now
from tests.conftest import EXAMPLES

ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE)
START = datetime(2026, 3, 1, tzinfo=UTC)


def with_partitions(granularity: str, start: str) -> ProjectSpec:
    changes: dict[str, Any] = {"partitions": {"granularity": granularity, "start": start}}
    return ProjectSpec.model_validate(deep_merge(ENERGY.model_dump(mode="json"), changes))


def test_every_declarable_granularity_has_one_period() -> None:
    assert set(GRANULARITIES) == set(PERIODS)


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


def test_a_start_time_between_partition_boundaries_is_refused() -> None:
    with pytest.raises(ValidationError, match="not where a 15-minute partition begins"):
        with_partitions("15-minute", "2026-03-01T09:20")
    with pytest.raises(ValidationError, match="not where a daily partition begins"):
        with_partitions("daily", "2026-03-01T09:00")


def test_the_hour_names_a_short_partition_so_it_is_left_out_of_drift() -> None:
    spec = with_partitions("5-minute", "2026-03-01T09:00")
    assert {"hour", "day_of_week"} <= set(spec.drift_excluded)


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


def test_a_partition_under_way_waits_for_its_run_until_it_is_complete_and_read() -> None:
    exists = {"09:00", "09:05"}.__contains__
    touched = {"09:05": ["b2"], "09:10": ["b3"]}
    due, waiting = due_now({"09:05": ["b1"]}, touched, exists, drained=False)
    # 09:05 is complete and the tick read events after it; 09:10 is under way.
    assert due == {"09:05": ["b1", "b2"]}
    assert waiting == {"09:10": ["b3"]}
    # Complete, but the source still has unread events and none of a later partition: it waits.
    assert due_now(waiting, {"09:10": ["b4"]}, {"09:10"}.__contains__, drained=False) == (
        {},
        {"09:10": ["b3", "b4"]},
    )
    # Drained: its run is due with every batch.
    due, waiting = due_now({"09:10": ["b3", "b4"]}, {}, {"09:10"}.__contains__, drained=True)
    assert due == {"09:10": ["b3", "b4"]} and waiting == {}
