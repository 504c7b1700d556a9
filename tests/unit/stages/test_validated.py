"""Unit tests of ct_assets/stages/validated.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from ct_assets.stages.validated import attribute, placer


def test_each_row_is_counted_in_one_partition_of_its_batch() -> None:
    day = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    next_day = (day[1], datetime(2026, 1, 3, tzinfo=UTC))
    windows = {"2026-01-01": day, "2026-01-02": next_day}
    times = pd.Series(
        pd.to_datetime(
            ["2026-01-01T05:00:00Z", "2026-01-02T05:00:00Z", None, "2025-12-31T23:00:00Z"],
            utc=True,
        )
    )
    # Its own event time's partition; with none readable, or one outside the batch's, its first.
    assert attribute(times, windows).tolist() == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-01",
        "2026-01-01",
    ]
    assert placer(windows)(times).tolist() == [True, True, False, False]
