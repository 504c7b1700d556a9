"""Unit tests of ct_assets/project/spec.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ct_assets.project.spec import (
    GRANULARITIES,
    PERIODS,
    NumericDrift,
    Training,
    parse_duration,
)
from tests.helpers.granularities import with_partitions


def test_an_unbounded_method_takes_any_positive_threshold() -> None:
    assert NumericDrift(method="psi", threshold=2.0).threshold == 2.0


def test_declared_windows_longer_than_the_training_window_are_the_whole_window() -> None:
    assert Training(window=5, windows=[1, 3, 7, "since_change"]).candidate_windows == (
        1,
        3,
        5,
        "since_change",
    )
    assert Training(window=7).candidate_windows == (1, 3, 7, "since_change")
    with pytest.raises(ValueError, match="at least 1 partition"):
        Training(windows=[0, 3])


def test_every_declarable_granularity_has_one_period() -> None:
    assert set(GRANULARITIES) == set(PERIODS)


def test_a_start_time_between_partition_boundaries_is_refused() -> None:
    with pytest.raises(ValidationError, match="not where a 15-minute partition begins"):
        with_partitions("15-minute", "2026-03-01T09:20")
    with pytest.raises(ValidationError, match="not where a daily partition begins"):
        with_partitions("daily", "2026-03-01T09:00")


def test_the_hour_names_a_short_partition_so_it_is_left_out_of_drift() -> None:
    spec = with_partitions("5-minute", "2026-03-01T09:00")
    assert {"hour", "day_of_week"} <= set(spec.drift_excluded)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("26h", 93_600), ("7d", 604_800), ("2w", 1_209_600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
