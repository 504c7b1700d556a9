"""Unit tests of ct_assets/ingest/tables.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ct_assets.ingest.parsing import parse_bytes
from ct_assets.ingest.tables import NotATable, as_frame, parquet_bytes, shown


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"amount": [1.5, 2.0], "at": pd.to_datetime(["2026-01-01T10:00Z", "2026-01-02T11:00Z"])}
    )


def test_the_same_frame_is_the_same_bytes_however_often_it_is_written() -> None:
    assert parquet_bytes(frame()) == parquet_bytes(frame().copy())
    assert parquet_bytes(frame()) != parquet_bytes(frame().head(1))


def test_a_named_index_is_data_and_an_unnamed_one_is_not() -> None:
    named = frame().set_index(pd.Index(["e1", "e2"], name="event_id"))
    read = parse_bytes(parquet_bytes(named), "x.parquet").frame
    assert read is not None and list(read.columns) == ["event_id", "amount", "at"]
    unnamed = frame().set_axis([7, 9])
    read = parse_bytes(parquet_bytes(unnamed), "x.parquet").frame
    assert read is not None and list(read.columns) == ["amount", "at"]
    assert list(read.index) == [0, 1]


def test_a_column_arrow_cannot_type_is_written_as_text_nulls_kept() -> None:
    mixed = pd.concat([frame(), frame().head(1)], ignore_index=True)
    mixed["n_items"] = [3, "several", None]
    read = parse_bytes(parquet_bytes(mixed), "x.parquet").frame
    assert read is not None
    assert read["n_items"].tolist()[:2] == ["3", "several"] and pd.isna(read["n_items"][2])
    # Typed columns keep their types.
    assert str(read["at"].dtype) == "datetime64[ns, UTC]" and read["amount"].dtype == float


def test_tables_that_convert_themselves_are_taken_and_anything_else_refused() -> None:
    assert as_frame(pa.table({"x": [1]}))["x"].tolist() == [1]
    assert as_frame(pl.DataFrame({"x": [2]}))["x"].tolist() == [2]
    with pytest.raises(NotATable, match=r"^a list, not a table: the asset must return a pandas"):
        as_frame([1, 2])
    with pytest.raises(NotATable, match=r"^a pandas.core.series.Series, not a table"):
        as_frame(pd.Series([1]))


def test_a_refused_value_is_kept_short() -> None:
    text = shown(list(range(100_000))).decode()
    assert text.startswith("[0, 1, 2") and text.endswith("...]\n") and len(text) < 200
