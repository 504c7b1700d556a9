"""Unit tests of sensors/freshness.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pytest

from sensors.freshness import (
    FAIL,
    PASS,
    UNKNOWN,
    WARN,
    freshness_state,
    transitions,
)
from tests.helpers.freshness import FAIL_AFTER, WARN_AFTER


@pytest.mark.parametrize(
    ("age_hours", "state"),
    [(None, UNKNOWN), (0, PASS), (25.9, PASS), (26, WARN), (35.9, WARN), (36, FAIL), (100, FAIL)],
)
def test_freshness_state_follows_the_time_window_policy(age_hours, state) -> None:
    now = 1_000_000.0
    last = None if age_hours is None else now - age_hours * 3600
    assert freshness_state(last, now, WARN_AFTER, FAIL_AFTER) == state


def test_only_changes_into_overdue_or_back_are_alerts() -> None:
    before = {"a": PASS, "b": WARN, "c": FAIL, "d": WARN}
    now = {"a": WARN, "b": WARN, "c": PASS, "d": FAIL, "e": UNKNOWN}
    assert transitions(before, now) == {"a": WARN, "c": PASS, "d": FAIL}
