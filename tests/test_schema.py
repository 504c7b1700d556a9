"""The event schema and batch parsing, without Dagster."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ct_assets.ml.datagen import DriftingSource, corrupt, write_atomically
from ct_assets.ml.schema import SCHEMA_COLUMNS, read_batch, validate_batch

SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=300)


def roundtrip(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    return read_batch(write_atomically(frame, tmp_path / "batch.csv"))


def test_a_generated_day_is_valid_and_typed(tmp_path: Path) -> None:
    outcome = validate_batch(roundtrip(SOURCE.day(0), tmp_path), "batch.csv")
    assert outcome.ok, outcome.reason()
    assert outcome.frame is not None
    assert list(outcome.frame.columns) == list(SCHEMA_COLUMNS)
    assert str(outcome.frame["event_time"].dtype) == "datetime64[ns, UTC]"
    assert outcome.frame["amount"].dtype == "float64"
    assert len(outcome.frame) == 300


@pytest.mark.parametrize(
    ("kind", "column", "check"),
    [("wrong_type", "amount", "coerce_dtype"), ("missing_column", "channel", "missing")],
)
def test_malformed_batches_name_file_and_column(
    tmp_path: Path, kind: str, column: str, check: str
) -> None:
    outcome = validate_batch(roundtrip(corrupt(SOURCE.day(0), kind), tmp_path), "drop.csv")
    assert not outcome.ok
    failure = next(f for f in outcome.failures if f.column == column)
    assert check in failure.check
    assert outcome.reason().startswith("drop.csv: ")
    assert repr(column) in outcome.reason()


def test_wrong_type_failure_lists_rows_and_values(tmp_path: Path) -> None:
    outcome = validate_batch(roundtrip(corrupt(SOURCE.day(0), "wrong_type"), tmp_path), "x.csv")
    failure = next(f for f in outcome.failures if f.column == "amount")
    assert failure.rows[:2] == [0, 50]
    assert set(failure.values) == {"n/a"}


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("label", "2", "isin"),
        ("channel", "fax", "isin"),
        ("n_items", "0", "greater_than_or_equal_to"),
        ("event_time", "yesterday", "coerce_dtype"),
    ],
)
def test_rule_violations(tmp_path: Path, column: str, value: str, check: str) -> None:
    frame = SOURCE.day(0).astype({column: str})
    frame.loc[3, column] = value
    outcome = validate_batch(roundtrip(frame, tmp_path), "x.csv")
    failure = next(f for f in outcome.failures if f.column == column)
    assert check in failure.check
    assert 3 in failure.rows


def test_unexpected_column_and_empty_batch(tmp_path: Path) -> None:
    extra = validate_batch(roundtrip(SOURCE.day(0).assign(surprise=1), tmp_path), "x.csv")
    assert any(f.column == "surprise" and f.check == "unexpected column" for f in extra.failures)
    empty = validate_batch(SOURCE.day(0).head(0), "x.csv")
    assert not empty.ok


def test_parquet_and_gzip_read_the_same_rows(tmp_path: Path) -> None:
    frame = SOURCE.day(0)
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    frame.to_csv(tmp_path / "a.csv.gz", index=False, compression="gzip")
    from_parquet = validate_batch(read_batch(tmp_path / "a.parquet"), "a.parquet")
    from_gzip = validate_batch(read_batch(tmp_path / "a.csv.gz"), "a.csv.gz")
    assert from_parquet.ok and from_gzip.ok
    assert from_parquet.frame is not None and from_gzip.frame is not None
    pd.testing.assert_frame_equal(from_parquet.frame, from_gzip.frame)


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"data\.xlsx: unsupported file type"):
        read_batch(path)
