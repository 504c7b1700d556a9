"""Parsing and validating delivered files, without Dagster."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ct_assets.ml.datagen import MALFORMED_RULES, DriftingSource, malformed_csv, write_atomically
from ct_assets.ingest.parsing import check_file
from ct_assets.ml.schema import SCHEMA_COLUMNS, validate_batch

SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=300)


def test_a_generated_day_is_valid_and_typed(tmp_path: Path) -> None:
    outcome = check_file(write_atomically(SOURCE.day(0), tmp_path / "batch.csv"))
    assert outcome.ok, outcome.reason()
    assert outcome.frame is not None
    assert list(outcome.frame.columns) == list(SCHEMA_COLUMNS)
    assert str(outcome.frame["event_time"].dtype) == "datetime64[ns, UTC]"
    assert outcome.frame["amount"].dtype == "float64"
    assert len(outcome.frame) == 300


@pytest.mark.parametrize("kind", sorted(MALFORMED_RULES))
def test_each_malformed_kind_is_refused_with_its_own_reason(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"drop_{kind}.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), kind))
    outcome = check_file(path)
    assert not outcome.ok
    record = outcome.as_record()
    assert record["rules"] == [MALFORMED_RULES[kind]], record["reason"]
    assert record["file"] == path.name and record["reason"].startswith(f"{path.name}: ")


@pytest.mark.parametrize(
    ("kind", "column", "rows"),
    [
        ("missing_column", "channel", []),
        ("wrong_type", "amount", [0, 50, 100]),
        ("duplicated_rows", "event_id", [0, 1]),
        ("extra_column", "coupon_code", []),
        ("label_outside", "label", [0, 40, 80]),
        ("future_timestamps", "event_time", [0, 1, 2]),
        ("mostly_null", "account_age_days", []),
        ("truncated", "*", [299]),
    ],
)
def test_reasons_name_the_column_and_rows(
    tmp_path: Path, kind: str, column: str, rows: list[int]
) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), kind))
    (failure,) = check_file(path).failures
    assert failure.column == column
    assert failure.rows[: len(rows)] == rows
    if column != "*":
        assert repr(column) in failure.describe()


def test_wrong_type_lists_the_offending_values(tmp_path: Path) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), "wrong_type"))
    (failure,) = check_file(path).failures
    assert set(failure.values) == {"n/a"}
    assert "float64" in failure.detail


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), "non_utf8"))
    (failure,) = check_file(path).failures
    assert failure.detail == "byte 0xff at line 5 is not UTF-8"


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    frame = SOURCE.day(0).drop(columns=["country"])
    frame.loc[3, "n_items"] = 0
    outcome = check_file(write_atomically(frame, tmp_path / "x.csv"))
    assert {(f.column, f.rule) for f in outcome.failures} == {
        ("country", "missing_column"),
        ("n_items", "out_of_range"),
    }


def test_parquet_and_gzip_read_the_same_rows(tmp_path: Path) -> None:
    frame = SOURCE.day(0)
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    frame.to_csv(tmp_path / "a.csv.gz", index=False, compression="gzip")
    from_parquet = check_file(tmp_path / "a.parquet")
    from_gzip = check_file(tmp_path / "a.csv.gz")
    assert from_parquet.frame is not None and from_gzip.frame is not None
    pd.testing.assert_frame_equal(from_parquet.frame, from_gzip.frame)


@pytest.mark.parametrize(
    ("name", "data", "rule"),
    [
        ("a.parquet", b"PAR1 not really", "truncated"),
        ("a.csv.gz", b"\x1f\x8b\x08\x00 cut", "truncated"),
        ("a.xlsx", b"x", "unsupported_format"),
    ],
)
def test_unreadable_files_are_refused_not_raised(
    tmp_path: Path, name: str, data: bytes, rule: str
) -> None:
    (tmp_path / name).write_bytes(data)
    outcome = check_file(tmp_path / name)
    assert [f.rule for f in outcome.failures] == [rule]
    assert outcome.reason().startswith(f"{name}: ")


def test_an_empty_frame_is_refused() -> None:
    assert not validate_batch(SOURCE.day(0).head(0), "x.csv").ok


@pytest.mark.parametrize(
    "stamp",
    [
        lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        lambda t: t.dt.strftime("%Y-%m-%d %H:%M:%S"),
        lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),  # not a fast-path format
        lambda t: t,  # typed timestamps
    ],
)
def test_every_way_of_writing_times_in_parquet_reads_the_same(tmp_path: Path, stamp) -> None:
    day = SOURCE.day(0)
    times = pd.to_datetime(day["event_time"], utc=True)
    path = tmp_path / "drop.parquet"
    day.assign(event_time=stamp(times)).to_parquet(path, index=False)
    outcome = check_file(path)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    assert outcome.frame["event_time"].equals(times.astype("datetime64[ns, UTC]"))
    assert outcome.frame["channel"].isin(["web", "app", "store"]).all()


def test_a_bad_time_in_a_parquet_drop_is_named_with_its_row(tmp_path: Path) -> None:
    day = SOURCE.day(0).copy()
    day.loc[7, "event_time"] = "yesterday-ish"
    path = tmp_path / "drop.parquet"
    day.to_parquet(path, index=False)
    outcome = check_file(path)
    (failure,) = outcome.failures
    assert (failure.column, failure.rule, failure.rows) == ("event_time", "wrong_type", [7])
    assert failure.values == ["yesterday-ish"]


def test_json_lines_are_read_like_csv_and_broken_lines_are_named(tmp_path: Path) -> None:
    day = SOURCE.day(0)
    good = tmp_path / "pulled.jsonl"
    good.write_text(day.to_json(orient="records", lines=True))
    outcome = check_file(good)
    assert outcome.ok and outcome.frame is not None and len(outcome.frame) == 300
    text = good.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*text[:3], "{not json", *text[3:]]) + "\n")
    (failure,) = check_file(broken).failures
    assert failure.rule == "not_json" and failure.rows == [3]
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(text)[:-10])
    assert check_file(cut).as_record()["rules"] == ["truncated"]
