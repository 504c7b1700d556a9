"""Window selection and the time-based holdout, without Dagster."""

from __future__ import annotations

import pandas as pd
import pytest

from ct_assets.ml.windows import (
    HOLDOUT,
    SPLIT,
    TRAIN,
    assemble_window,
    expected_partitions,
    summarize_window,
)

KEYS = [f"2026-01-{d:02d}" for d in range(1, 11)]


@pytest.mark.parametrize(
    ("last", "size", "expected"),
    [
        ("2026-01-05", 3, ["2026-01-03", "2026-01-04", "2026-01-05"]),
        ("2026-01-02", 3, ["2026-01-01", "2026-01-02"]),
        ("2026-01-10", 1, ["2026-01-10"]),
    ],
)
def test_expected_partitions(last: str, size: int, expected: list[str]) -> None:
    assert expected_partitions(KEYS, last, size) == expected


def day(key: str, hours: int = 10) -> pd.DataFrame:
    times = pd.date_range(key, periods=hours, freq="1h", tz="UTC")
    return pd.DataFrame(
        {"event_time": times, "batch_id": f"b-{key}", "label": [0, 1] * (hours // 2)}
    )


def test_holdout_is_the_most_recent_slice_in_time() -> None:
    # Partitions given out of order must still be cut by time.
    parts = {"2026-01-03": day("2026-01-03"), "2026-01-01": day("2026-01-01")}
    window = assemble_window(parts, holdout_fraction=0.2)
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    assert train["event_time"].max() < holdout["event_time"].min()
    assert len(holdout) == 4
    assert set(holdout["partition"]) == {"2026-01-03"}


def test_window_summary_names_missing_partitions_and_batches() -> None:
    parts = {"2026-01-01": day("2026-01-01"), "2026-01-03": day("2026-01-03")}
    window = assemble_window(parts, holdout_fraction=0.25)
    summary = summarize_window(window, ["2026-01-01", "2026-01-02", "2026-01-03"])
    assert summary.partitions == ["2026-01-01", "2026-01-03"]
    assert summary.missing == ["2026-01-02"]
    assert summary.batch_ids == ["b-2026-01-01", "b-2026-01-03"]
    assert summary.train_rows + summary.holdout_rows == 20


def test_empty_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        assemble_window({"2026-01-01": day("2026-01-01").head(0)}, 0.2)
