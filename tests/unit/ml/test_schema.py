"""Unit tests of ct_assets/ml/schema.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.schema import (
    ROW_RULES,
    Finding,
    above_share,
    bad_rows,
    parse_times,
    share_note,
    split_findings,
    validate_batch,
)
from tests.helpers.schema import EXAMPLE_DAYS, SHOP, SOURCE, zoned


@pytest.mark.parametrize("example", sorted(EXAMPLE_DAYS))
def test_an_empty_frame_is_refused(example: str) -> None:
    spec, source, _ = EXAMPLE_DAYS[example]
    assert not validate_batch(source.day(0).head(0), "x.csv", spec).ok


@pytest.mark.parametrize(
    ("zone", "written", "instant"),
    [
        ("Europe/Berlin", "2026-03-01 13:05:00", "2026-03-01T12:05:00Z"),  # CET, +01:00
        ("Europe/Berlin", "2026-07-01T13:05:00", "2026-07-01T11:05:00Z"),  # CEST, +02:00
        ("Asia/Kolkata", "2026-03-01 13:05:00", "2026-03-01T07:35:00Z"),  # +05:30
        ("Asia/Kolkata", "2026-03-01", "2026-02-28T18:30:00Z"),  # a date alone: local midnight
        ("UTC", "2026-03-01 13:05:00", "2026-03-01T13:05:00Z"),
    ],
)
def test_an_iso_time_without_an_offset_is_local_in_the_declared_zone(
    zone: str, written: str, instant: str
) -> None:
    times, bad = parse_times(pd.Series([written], dtype=object), zoned(zone))
    assert not bad.any()
    assert times.iloc[0] == pd.Timestamp(instant)
    assert str(times.dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "UTC"])
def test_an_iso_time_with_an_offset_keeps_it_whatever_the_declared_zone(zone: str) -> None:
    written = ["2026-03-01T13:05:00Z", "2026-03-01 13:05:00+01:00", "20260301T130500-0530"]
    times, bad = parse_times(pd.Series(written, dtype=object), zoned(zone))
    assert not bad.any()
    assert times.tolist() == [
        pd.Timestamp("2026-03-01T13:05:00Z"),
        pd.Timestamp("2026-03-01T12:05:00Z"),
        pd.Timestamp("2026-03-01T18:35:00Z"),
    ]


def test_a_column_mixing_offsets_and_local_times_reads_each_value_by_what_it_carries() -> None:
    # Whichever comes first: pandas alone would read the naive values as UTC after a "Z".
    written = ["2026-03-01T13:05:00Z", "2026-03-01 13:05:00", None, "2026-03-01T13:05:00+05:30"]
    times, bad = parse_times(pd.Series(written, dtype=object), zoned("Europe/Berlin"))
    assert not bad.any()
    assert times.iloc[0] == pd.Timestamp("2026-03-01T13:05:00Z")
    assert times.iloc[1] == pd.Timestamp("2026-03-01T12:05:00Z")
    assert pd.isna(times.iloc[2])
    assert times.iloc[3] == pd.Timestamp("2026-03-01T07:35:00Z")


def test_strftime_times_are_local_unless_the_format_reads_an_offset() -> None:
    local, _ = parse_times(
        pd.Series(["01/03/2026 13:05"], dtype=object), zoned("Asia/Kolkata", "%d/%m/%Y %H:%M")
    )
    assert local.iloc[0] == pd.Timestamp("2026-03-01T07:35:00Z")
    offset, _ = parse_times(
        pd.Series(["01/03/2026 13:05 +0100"], dtype=object),
        zoned("Asia/Kolkata", "%d/%m/%Y %H:%M %z"),
    )
    assert offset.iloc[0] == pd.Timestamp("2026-03-01T12:05:00Z")


def test_epoch_times_are_absolute_whatever_the_declared_zone() -> None:
    times, _ = parse_times(
        pd.Series(["1772370300"], dtype=object), zoned("Asia/Kolkata", "epoch_s")
    )
    assert times.iloc[0] == pd.Timestamp("2026-03-01T13:05:00Z")


def test_timestamps_typed_without_a_zone_are_local_and_with_one_are_kept() -> None:
    naive = pd.Series(pd.to_datetime(["2026-03-01 13:05:00"]))
    assert parse_times(naive, zoned("Europe/Berlin"))[0].iloc[0] == pd.Timestamp(
        "2026-03-01T12:05:00Z"
    )
    aware = naive.dt.tz_localize("Asia/Kolkata")
    assert parse_times(aware, zoned("Europe/Berlin"))[0].iloc[0] == pd.Timestamp(
        "2026-03-01T07:35:00Z"
    )


def finding(rule: str, rows: list[int], column: str = "x") -> Finding:
    return Finding(column, rule, positions=np.array(rows, dtype=np.int64))


def test_row_rules_are_told_from_faults_of_the_file() -> None:
    findings = [
        finding("out_of_range", [3]),
        finding("missing_column", []),
        finding("duplicate_row", [7, 9], "*"),
        finding("single_class", []),
        finding("wrong_type", []),  # a check that failed on the column, on no row
        finding("no_event_time", [1]),
    ]
    whole, rows = split_findings(findings)
    assert [f.rule for f in whole] == ["missing_column", "single_class", "wrong_type"]
    assert [f.rule for f in rows] == ["out_of_range", "duplicate_row", "no_event_time"]
    assert {f.rule for f in rows} <= ROW_RULES


def test_the_share_counts_each_bad_row_once_and_never_placement() -> None:
    findings = [
        finding("out_of_range", [3, 5]),
        finding("null_value", [5, 8], "y"),
        finding("no_partition", [1, 2, 4, 6]),  # the partitions' doing, not the file's
    ]
    assert bad_rows(findings, 10).tolist() == [i in (3, 5, 8) for i in range(10)]
    # At most the share (1% of 2,000 is 20 rows) goes on; one more refuses the file.
    assert not above_share(1, 2000, 0.01)
    assert not above_share(20, 2000, 0.01)
    assert above_share(21, 2000, 0.01)
    assert above_share(1, 2000, 0.0)  # a share of 0: any bad row refuses, as before
    assert "21 of 2,000 rows (1.05%)" in share_note(21, 2000, 0.01)


def test_a_file_to_score_is_still_judged_whole(tmp_path: Path) -> None:
    # Scoring answers every row asked for: one bad row refuses the file there.
    day = SOURCE.day(0).copy()
    day.loc[3, "n_items"] = 0
    outcome = validate_batch(day, "score.csv", SHOP)
    assert not outcome.ok and outcome.as_record()["rules"] == ["out_of_range"]
