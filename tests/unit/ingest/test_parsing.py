"""Unit tests of ct_assets/ingest/parsing.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ct_assets.cli import main
from ct_assets.ingest.parsing import check_file, parse_bytes
from ct_assets.ml.schema import (
    build_schema,
)
from ct_assets.ml.scoring import BadInput, input_features
from ct_assets.project.load import PROJECT_FILE, deep_merge, load_project
from ct_assets.project.spec import ProjectSpec
from examples.energy import generator as energy_generator
from examples.shop.generator import (
    CHANNELS,
    MALFORMED_RULES,
    SET_ASIDE_RULES,
    DriftingSource,
    corrupt,
    malformed_csv,
    write_atomically,
)
from tests.conftest import EXAMPLES
from tests.helpers.schema import ENERGY, EXAMPLE_DAYS, METERS, SHOP, SOURCE


def test_a_generated_day_is_valid_and_typed(tmp_path: Path) -> None:
    outcome = check_file(write_atomically(SOURCE.day(0), tmp_path / "batch.csv"), SHOP)
    assert outcome.ok, outcome.reason()
    assert outcome.frame is not None
    assert list(outcome.frame.columns) == list(build_schema(SHOP).columns)
    assert list(outcome.frame.columns) == list(SHOP.dataset.columns)
    assert str(outcome.frame["event_time"].dtype) == "datetime64[ns, UTC]"
    assert outcome.frame["amount"].dtype == "float64"
    assert len(outcome.frame) == 300


@pytest.mark.parametrize("example", sorted(EXAMPLE_DAYS))
def test_a_generated_day_of_each_example_is_valid_and_typed(tmp_path: Path, example: str) -> None:
    spec, source, number = EXAMPLE_DAYS[example]
    outcome = check_file(write_atomically(source.day(0), tmp_path / "batch.csv"), spec)
    assert outcome.ok, outcome.reason()
    assert outcome.frame is not None
    assert list(outcome.frame.columns) == list(build_schema(spec).columns)
    assert str(outcome.frame[spec.dataset.time].dtype) == "datetime64[ns, UTC]"
    assert outcome.frame[number].dtype == "float64"
    assert len(outcome.frame) == 300


def test_epoch_times_and_text_booleans_are_typed(tmp_path: Path) -> None:
    day = METERS.day(0)
    outcome = check_file(write_atomically(day, tmp_path / "meters.csv"), ENERGY)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    expected = pd.to_datetime(day["timestamp"], unit="s", utc=True).astype("datetime64[ns, UTC]")
    assert outcome.frame["timestamp"].equals(expected)
    assert pd.api.types.is_bool_dtype(outcome.frame["is_holiday"].dtype)
    assert outcome.frame["is_holiday"].tolist() == (day["is_holiday"] == "true").tolist()
    # A nullable float keeps its missing readings as data.
    assert outcome.frame["humidity_pct"].isna().sum() == day["humidity_pct"].isna().sum()


@pytest.mark.parametrize("kind", sorted(MALFORMED_RULES))
def test_each_malformed_kind_is_refused_with_its_own_reason(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"drop_{kind}.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), kind))
    outcome = check_file(path, SHOP)
    assert not outcome.ok
    record = outcome.as_record()
    assert record["rules"] == [MALFORMED_RULES[kind]], record["reason"]
    assert record["file"] == path.name and record["reason"].startswith(f"{path.name}: ")


@pytest.mark.parametrize(
    ("kind", "column", "rows"),
    [
        ("missing_column", "channel", []),
        ("wrong_type", "amount", [0, 50, 100]),
        ("duplicated_rows", "*", [300, 301]),  # the second copy of each row
        ("reused_ids", "event_id", [0, 1, 10, 11]),  # both rows of each id
        ("extra_column", "coupon_code", []),
        ("label_outside", "label", [0, 40, 80]),
        ("future_timestamps", "event_time", [0, 20, 40]),
        ("mostly_null", "account_age_days", []),
        ("truncated", "*", [299]),
    ],
)
def test_reasons_name_the_column_and_rows(
    tmp_path: Path, kind: str, column: str, rows: list[int]
) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), kind))
    (failure,) = check_file(path, SHOP).failures
    assert failure.column == column
    assert failure.rows[: len(rows)] == rows
    # The lines a reader finds them on: the header is line 1.
    assert failure.lines[: len(rows)] == [r + 2 for r in rows]
    if rows:
        assert f"line{'s' if len(failure.lines) > 1 else ''} {rows[0] + 2}" in failure.describe()
    if column != "*":
        assert repr(column) in failure.describe()


@pytest.mark.parametrize(
    ("kind", "column", "rule", "rows"),
    [
        ("wrong_type", "timestamp", "wrong_type", [0, 25, 50]),
        ("missing_column", "weather", "missing_column", []),
        ("out_of_range", "humidity_pct", "out_of_range", [0, 30, 60]),
    ],
)
def test_energy_corruptions_name_their_column_rule_and_rows(
    tmp_path: Path, kind: str, column: str, rule: str, rows: list[int]
) -> None:
    path = write_atomically(energy_generator.corrupt(METERS.day(0), kind), tmp_path / "drop.csv")
    outcome = check_file(path, ENERGY)
    (failure,) = outcome.failures
    assert (failure.column, failure.rule) == (column, rule), outcome.reason()
    assert failure.rows[: len(rows)] == rows
    assert repr(column) in failure.describe()


def test_wrong_type_lists_the_offending_values(tmp_path: Path) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), "wrong_type"))
    (failure,) = check_file(path, SHOP).failures
    written = corrupt(SOURCE.day(0), "wrong_type")["amount"]
    assert set(failure.values) == set(written[pd.to_numeric(written, errors="coerce").isna()])
    # In ct's words (the declared type), not pandera's (coerce_dtype('float64')).
    assert failure.rule == "wrong_type" and failure.detail.startswith("expected float")
    # The way the values are written is named, and where to declare it.
    assert "decimal: ','" in failure.detail and "dataset.format" in failure.detail
    assert failure.count == 6 and "in 6 rows at lines 2, 52, 102" in failure.describe()


def test_epoch_times_and_booleans_that_cannot_be_read_list_their_values(tmp_path: Path) -> None:
    path = write_atomically(
        energy_generator.corrupt(METERS.day(0), "wrong_type"), tmp_path / "a.csv"
    )
    (failure,) = check_file(path, ENERGY).failures
    assert set(failure.values) == {"yesterday"}
    assert "epoch_s" in failure.detail
    # One flag in 300 that is neither true nor false: that row is set aside, named as well.
    day = METERS.day(0).astype({"is_holiday": object})
    day.loc[4, "is_holiday"] = "maybe"
    outcome = check_file(write_atomically(day, tmp_path / "b.csv"), ENERGY)
    assert outcome.ok and outcome.set_aside is not None, outcome.reason()
    (failure,) = outcome.set_aside.failures
    assert (failure.column, failure.rule, failure.rows) == ("is_holiday", "wrong_type", [4])
    assert failure.lines == [6] and failure.values == ["maybe"]
    assert "true or false" in failure.detail


def test_an_unseen_category_declared_unknown_is_not_refused(tmp_path: Path) -> None:
    day = METERS.day(0).copy()
    day.loc[:9, "weather"] = "fog"
    outcome = check_file(write_atomically(day, tmp_path / "fog.csv"), ENERGY)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    assert (outcome.frame["weather"] == "fog").sum() == 10
    # The shop's categories refuse what they do not list.
    orders = SOURCE.day(0).copy()
    orders.loc[3, "channel"] = "phone"
    phone = check_file(write_atomically(orders, tmp_path / "phone.csv"), SHOP)
    assert phone.ok and phone.set_aside is not None and phone.frame is not None
    (failure,) = phone.set_aside.failures
    assert (failure.column, failure.rule, failure.rows) == ("channel", "not_allowed_value", [3])
    assert "phone" not in set(phone.frame["channel"])
    orders.loc[::20, "channel"] = "phone"  # 16 rows in 300, with row 3: the file is refused
    (failure,) = check_file(write_atomically(orders, tmp_path / "phones.csv"), SHOP).failures
    assert (failure.column, failure.rule, failure.count) == ("channel", "not_allowed_value", 16)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "drop.csv"
    path.write_bytes(malformed_csv(SOURCE.day(0), "non_utf8"))
    (failure,) = check_file(path, SHOP).failures
    assert failure.detail.startswith("byte 0xff is not utf-8") and failure.lines == [5]
    # What the bytes look like, by charset detection, and the declaration that would read them.
    assert "dataset.format.encoding" in failure.detail


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    frame = SOURCE.day(0).drop(columns=["country"])
    frame.loc[3, "n_items"] = 0
    outcome = check_file(write_atomically(frame, tmp_path / "x.csv"), SHOP)
    assert {(f.column, f.rule) for f in outcome.failures} == {
        ("country", "missing_column"),
        ("n_items", "out_of_range"),
    }


def test_several_problems_of_an_energy_file_are_all_reported(tmp_path: Path) -> None:
    frame = METERS.day(0).drop(columns=["wind_kph"])
    frame.loc[3, "occupancy"] = -1
    outcome = check_file(write_atomically(frame, tmp_path / "x.csv"), ENERGY)
    assert {(f.column, f.rule) for f in outcome.failures} == {
        ("wind_kph", "missing_column"),
        ("occupancy", "out_of_range"),
    }


@pytest.mark.parametrize("example", sorted(EXAMPLE_DAYS))
def test_parquet_and_gzip_read_the_same_rows(tmp_path: Path, example: str) -> None:
    spec, source, _ = EXAMPLE_DAYS[example]
    frame = source.day(0)
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    frame.to_csv(tmp_path / "a.csv.gz", index=False, compression="gzip")
    from_parquet = check_file(tmp_path / "a.parquet", spec)
    from_gzip = check_file(tmp_path / "a.csv.gz", spec)
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
    outcome = check_file(tmp_path / name, SHOP)
    assert [f.rule for f in outcome.failures] == [rule]
    assert outcome.reason().startswith(f"{name}: ")


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
    outcome = check_file(path, SHOP)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    assert outcome.frame["event_time"].equals(times.astype("datetime64[ns, UTC]"))
    assert outcome.frame["channel"].isin(CHANNELS).all()
    assert set(CHANNELS) == {"web", "app", "store"}


@pytest.mark.parametrize(
    "stamp",
    [
        lambda s: s,  # epoch seconds as integers
        lambda s: s.astype(str),  # as text
        lambda s: s.astype(float),  # as floats
    ],
)
def test_every_way_of_writing_epoch_times_in_parquet_reads_the_same(tmp_path: Path, stamp) -> None:
    day = METERS.day(0)
    times = pd.to_datetime(day["timestamp"], unit="s", utc=True).astype("datetime64[ns, UTC]")
    path = tmp_path / "meters.parquet"
    day.assign(timestamp=stamp(day["timestamp"])).to_parquet(path, index=False)
    outcome = check_file(path, ENERGY)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    assert outcome.frame["timestamp"].equals(times)


def test_a_bad_time_in_a_parquet_drop_is_named_with_its_row(tmp_path: Path) -> None:
    day = SOURCE.day(0).copy()
    day.loc[7, "event_time"] = "yesterday-ish"
    path = tmp_path / "drop.parquet"
    day.to_parquet(path, index=False)
    outcome = check_file(path, SHOP)
    assert outcome.ok and outcome.set_aside is not None, outcome.reason()
    (failure,) = outcome.set_aside.failures
    assert (failure.column, failure.rule, failure.rows) == ("event_time", "wrong_type", [7])
    assert failure.values == ["yesterday-ish"]
    # A Parquet file has no lines: its rows are numbered from 1, and said to be rows.
    assert failure.lines == [8] and "at row 8" in failure.describe()
    assert list(outcome.set_aside.table["ct_row"]) == [8]


@pytest.mark.parametrize("example", sorted(EXAMPLE_DAYS))
def test_json_lines_are_read_like_csv_and_broken_lines_are_named(
    tmp_path: Path, example: str
) -> None:
    spec, source, _ = EXAMPLE_DAYS[example]
    day = source.day(0)
    good = tmp_path / "pulled.jsonl"
    good.write_text(day.to_json(orient="records", lines=True))
    outcome = check_file(good, spec)
    assert outcome.ok and outcome.frame is not None and len(outcome.frame) == 300
    text = good.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*text[:3], "{not json", *text[3:]]) + "\n")
    (failure,) = check_file(broken, spec).failures
    assert failure.rule == "not_json" and failure.rows == [3] and failure.lines == [4]
    assert failure.detail.startswith("line 4 ")
    # One numbering: the line, not also the record counted from 0 ("record 3").
    assert "record" not in failure.describe()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(text)[:-10])
    assert check_file(cut, spec).as_record()["rules"] == ["truncated"]


def test_a_batch_in_a_declared_zone_is_validated_into_utc(tmp_path: Path) -> None:
    spec = ProjectSpec.model_validate(
        deep_merge(
            SHOP.model_dump(mode="json"),
            {"dataset": {"columns": {"event_time": {"timezone": "Asia/Kolkata"}}}},
        )
    )
    day = SOURCE.day(0)
    utc = pd.to_datetime(day["event_time"], utc=True)
    local = utc.dt.tz_convert("Asia/Kolkata").dt.strftime("%Y-%m-%d %H:%M:%S")
    # Half the rows written as local times, half with their offset: the same instants.
    written = local.where(day.index % 2 == 0, utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    outcome = check_file(write_atomically(day.assign(event_time=written), tmp_path / "b.csv"), spec)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    assert outcome.frame["event_time"].equals(utc.dt.floor("s").astype("datetime64[ns, UTC]"))


@pytest.mark.parametrize("kind", sorted(SET_ASIDE_RULES))
def test_a_row_or_two_breaking_a_rule_are_set_aside_and_the_rest_goes_on(
    tmp_path: Path, kind: str
) -> None:
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=2000).day(0)
    delivered = corrupt(day, kind)
    outcome = check_file(write_atomically(delivered, tmp_path / "drop.csv"), SHOP)
    assert outcome.ok and outcome.frame is not None and outcome.set_aside is not None
    held = outcome.set_aside
    assert held.rules == [SET_ASIDE_RULES[kind]]
    # Nothing lost: every delivered row is validated or set aside.
    assert outcome.rows == len(delivered) == len(outcome.frame) + held.rows
    # Each set-aside row as delivered, with the line it is on and why.
    for _, row in held.table.iterrows():
        line = int(row["ct_line"])
        assert row["ct_rules"] == SET_ASIDE_RULES[kind]
        original = delivered.iloc[line - 2]
        assert row["event_id"] == str(original["event_id"])
        assert row["amount"] == str(original["amount"])
    kept = outcome.frame["event_id"].tolist()
    assert len(kept) == len(set(kept))


def test_text_in_three_percent_of_a_numeric_column_still_refuses_the_file(tmp_path: Path) -> None:
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=2000).day(0)
    day["amount"] = day["amount"].astype(object)
    broken = day.index[::33]  # 61 rows of 2,000: 3%
    day.loc[broken, "amount"] = np.resize(["12,50", "n/a yet", "€4"], len(broken))
    outcome = check_file(write_atomically(day, tmp_path / "drop.csv"), SHOP)
    assert not outcome.ok and outcome.set_aside is None
    (failure,) = outcome.failures
    assert (failure.column, failure.rule, failure.count) == ("amount", "wrong_type", 61)
    reason = outcome.reason()
    assert reason.startswith("drop.csv: 61 of 2,000 rows (3.05%) break row rules, above ")
    assert "quality.max_bad_row_share (1.00%)" in reason
    assert "column 'amount' wrong_type: expected float in 61 rows at lines 2, 35, 68" in reason


def test_one_reading_in_two_thousand_out_of_range_is_set_aside_with_its_line(
    tmp_path: Path,
) -> None:
    day = energy_generator.MeterSource(start=date(2026, 1, 1), rows_per_day=2000).day(0)
    day.loc[1234, "humidity_pct"] = 140.0  # 0.05% of the batch
    outcome = check_file(write_atomically(day, tmp_path / "meters.csv"), ENERGY)
    assert outcome.ok and outcome.frame is not None and outcome.set_aside is not None
    (failure,) = outcome.set_aside.failures
    assert (failure.column, failure.rule, failure.lines) == ("humidity_pct", "out_of_range", [1236])
    # The bound it broke, in the words of ct.yaml (not pandera's less_than_or_equal_to(100)).
    assert failure.detail == "above the declared maximum 100 (le: 100)"
    assert failure.key == ("dataset", "columns", "humidity_pct", "checks", "le")
    assert (len(outcome.frame), outcome.rows_set_aside) == (1999, 1)
    assert outcome.set_aside.table.loc[0, "humidity_pct"] == "140.0"
    # Row ids derived for the rest still number the rows as delivered.
    assert outcome.kept is not None and 1234 not in outcome.kept and len(outcome.kept) == 1999


def test_rows_delivered_twice_without_an_event_id(tmp_path: Path) -> None:
    day = METERS.day(0)
    twice = pd.concat([day, day], ignore_index=True)
    outcome = check_file(write_atomically(twice, tmp_path / "twice.csv"), ENERGY)
    assert not outcome.ok and outcome.as_record()["rules"] == ["duplicate_row"]
    assert outcome.failures[0].count == 300 and outcome.failures[0].lines[0] == 302
    # A few repeated rows are set aside, the first of each kept.
    some = pd.concat([day, day.iloc[[5]]], ignore_index=True)
    outcome = check_file(write_atomically(some, tmp_path / "some.csv"), ENERGY)
    assert outcome.ok and outcome.frame is not None and outcome.set_aside is not None
    assert outcome.set_aside.rules == ["duplicate_row"]
    assert list(outcome.set_aside.table["ct_line"]) == [302] and len(outcome.frame) == 300
    # Where data legitimately repeats rows, a project keeps them.
    keep = ENERGY.model_copy(
        update={"quality": ENERGY.quality.model_copy(update={"duplicate_rows": "keep"})}
    )
    kept = check_file(tmp_path / "twice.csv", keep)
    assert kept.ok and kept.set_aside is None and kept.frame is not None
    assert len(kept.frame) == 600


def test_an_event_id_repeated_with_other_values_sets_aside_every_such_row(tmp_path: Path) -> None:
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=1000).day(0)
    day.loc[9, "event_id"] = day.loc[8, "event_id"]  # two events under one id
    day = pd.concat([day, day.iloc[[8]]], ignore_index=True)  # and the first sent again
    outcome = check_file(write_atomically(day, tmp_path / "ids.csv"), SHOP)
    assert outcome.ok and outcome.set_aside is not None and outcome.frame is not None
    table = outcome.set_aside.table.set_index("ct_line")
    assert table["ct_rules"].to_dict() == {
        10: "duplicate_key",
        11: "duplicate_key",
        1002: "duplicate_row",
    }
    assert day.loc[8, "event_id"] not in set(outcome.frame["event_id"])


def test_a_blank_event_time_is_set_aside_even_where_times_may_be_empty(tmp_path: Path) -> None:
    nullable = ProjectSpec.model_validate(
        deep_merge(
            ENERGY.model_dump(mode="json"),
            {"dataset": {"columns": {"timestamp": {"nullable": True}}}},
        )
    )
    day = METERS.day(0).astype({"timestamp": object})
    day.loc[17, "timestamp"] = ""
    for spec in (ENERGY, nullable):
        outcome = check_file(write_atomically(day, tmp_path / "blank.csv"), spec)
        assert outcome.ok and outcome.set_aside is not None and outcome.frame is not None
        (failure,) = outcome.set_aside.failures
        assert (failure.column, failure.rule, failure.lines) == ("timestamp", "no_event_time", [19])
        assert len(outcome.frame) == 299 and outcome.frame["timestamp"].notna().all()


def test_a_value_of_the_wrong_type_does_not_hide_a_range_fault_in_its_column(
    tmp_path: Path,
) -> None:
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=2000).day(0)
    day["amount"] = day["amount"].astype(object)
    day.loc[10, "amount"] = "12,50"
    day.loc[20, "amount"] = -3.0
    outcome = check_file(write_atomically(day, tmp_path / "drop.csv"), SHOP)
    assert outcome.ok and outcome.set_aside is not None
    rules = outcome.set_aside.table.set_index("ct_line")["ct_rules"].to_dict()
    assert rules == {12: "wrong_type", 22: "out_of_range"}


def test_lines_count_blank_lines_and_line_breaks_inside_fields(tmp_path: Path) -> None:
    text = (
        "event_time,amount,n_items,note\n"
        "2026-01-01T00:00:00Z,1.5,1,plain\n"
        "\n"
        '2026-01-01T00:01:00Z,2.5,1,"two\nlines"\n'
        "2026-01-01T00:02:00Z,3.5,0,after\n"
    )
    path = tmp_path / "drop.csv"
    path.write_text(text)
    parsed = parse_bytes(path.read_bytes(), path.name)
    assert parsed.frame is not None and parsed.lines.of([0, 1, 2]) == [2, 4, 6]
    lines = tmp_path / "drop.jsonl"
    lines.write_text('{"a": 1}\n\n{"a": 2}\n')
    parsed = parse_bytes(lines.read_bytes(), lines.name)
    assert parsed.lines.of([0, 1]) == [1, 3] and parsed.lines.unit == "line"


def test_a_clean_batch_sets_nothing_aside(tmp_path: Path) -> None:
    for spec, source in ((SHOP, SOURCE), (ENERGY, METERS)):
        outcome = check_file(write_atomically(source.day(1), tmp_path / "clean.csv"), spec)
        assert outcome.ok and outcome.set_aside is None and outcome.kept is None


@pytest.mark.parametrize("pattern", ["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%B %d %Y %H:%M"])
def test_times_not_in_the_declared_iso_format_are_refused_not_guessed(
    tmp_path: Path, pattern: str
) -> None:
    """An ISO declaration reads ISO: a file of day/month times is wrong_type, never read as
    some other day by a guessed format."""
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=300).day(0)
    day["event_time"] = pd.to_datetime(day["event_time"]).dt.strftime(pattern)
    outcome = check_file(write_atomically(day, tmp_path / "drop.csv"), SHOP)
    assert not outcome.ok
    assert [(f.column, f.rule, f.count) for f in outcome.failures] == [
        ("event_time", "wrong_type", 300)
    ], outcome.reason()
    assert "expected a time (iso)" in outcome.reason()


def test_a_few_times_in_another_format_are_set_aside_with_their_lines(tmp_path: Path) -> None:
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=1000).day(0)
    day["event_time"] = day["event_time"].astype(object)
    day.loc[[7, 8], "event_time"] = "05/01/2026 00:02"
    outcome = check_file(write_atomically(day, tmp_path / "drop.csv"), SHOP)
    assert outcome.ok and outcome.frame is not None and outcome.set_aside is not None
    assert outcome.set_aside.rules == ["wrong_type"]
    assert sorted(outcome.set_aside.table["ct_line"].astype(int)) == [9, 10]
    assert outcome.rows == len(outcome.frame) + outcome.set_aside.rows


def at_rate(spec: ProjectSpec, low: float) -> ProjectSpec:
    """`spec` declaring `quality.min_positive_rate: low`."""
    quality = spec.quality.model_copy(update={"min_positive_rate": low})
    return spec.model_copy(update={"quality": quality})


def test_a_rare_class_day_without_a_positive_goes_on_while_none_is_plausible(
    tmp_path: Path,
) -> None:
    # Positives at 1.2%: none in n rows has a (1 - 0.012)^n chance, under 0.1% from 573 rows.
    spec = at_rate(SHOP, 0.012)
    for rows in (300, 572):
        day = DriftingSource(start=date(2026, 1, 1), rows_per_day=rows).day(0).assign(label=0)
        outcome = check_file(write_atomically(day, tmp_path / "day.csv"), spec)
        assert outcome.ok and outcome.set_aside is None, outcome.reason()
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=573).day(0).assign(label=0)
    refused = check_file(write_atomically(day, tmp_path / "day.csv"), spec)
    (failure,) = refused.failures
    assert (failure.column, failure.rule) == ("label", "single_class")
    assert failure.key == ("quality", "min_positive_rate")
    assert failure.detail == (
        "all 573 rows are '0': '1' expected about 7 times at the minimum positive rate 1.2%, "
        "and none in 573 rows has a 0.099% chance"
    )
    # The label's values, never a check's boolean or a Python list.
    assert "False" not in refused.reason() and "[" not in refused.reason()


def test_a_batch_of_one_class_is_refused_at_the_other_bound_too(tmp_path: Path) -> None:
    # All positive: at the default maximum rate (98%), no negative in 400 rows is a 0.031% chance.
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=400).day(0).assign(label=1)
    (failure,) = check_file(write_atomically(day, tmp_path / "day.csv"), SHOP).failures
    assert failure.rule == "single_class" and failure.key == ("quality", "max_positive_rate")
    assert failure.detail.startswith("all 400 rows are '1': '0' expected about 8 times at the ")
    # In 100 rows it is a 13% chance: the batch goes on.
    few = day.head(100)
    assert check_file(write_atomically(few, tmp_path / "few.csv"), SHOP).ok


def line_of(text: str, written: str) -> int:
    """The line of `text` holding `written`, as an editor numbers it."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if written in line)


def test_refusals_name_rule_column_values_lines_and_the_line_of_ct_yaml_declaring_the_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    declared = (EXAMPLES / "shop" / PROJECT_FILE).read_text()
    (root / PROJECT_FILE).write_text(declared)
    project = load_project(root, {})
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=1000).day(0).astype(str)
    day.loc[4, "amount"] = "-2"  # line 6: the header is line 1
    day.loc[9, "n_items"] = ""
    day.loc[12, "label"] = ""
    day.loc[20, "channel"] = "phone"
    path = write_atomically(day, tmp_path / "drop.csv")
    outcome = check_file(path, project.spec).located(project.locate)
    assert outcome.ok and outcome.set_aside is not None, outcome.reason()
    said = {f.column: f.describe() for f in outcome.set_aside.failures}
    assert said == {
        "amount": "column 'amount' out_of_range: below the declared minimum 0 (ge: 0) in 1 row at "
        f"line 6 (value '-2'; declared at ct.yaml line {line_of(declared, '    amount:')}: "
        "dataset.columns.amount.checks.ge)",
        "n_items": "column 'n_items' null_value: blank in a column not declared nullable in 1 "
        "row at line 11 (default: dataset.columns.n_items.nullable)",
        "label": "column 'label' null_value: blank label: every row needs one in 1 row at line 14 "
        f"(declared at ct.yaml line {line_of(declared, '    label: label')}: dataset.roles.label)",
        "channel": "column 'channel' not_allowed_value: not one of the declared values (web, app, "
        "store) in 1 row at line 22 (value 'phone'; declared at ct.yaml line "
        f"{line_of(declared, '    channel:')}: dataset.columns.channel.categories)",
    }
    # No pandera words (coerce_dtype('int64'), greater_than_or_equal_to(0.0)), no lists.
    reason = outcome.set_aside_reason()
    assert "coerce_dtype" not in reason and "than" not in reason and "[" not in reason
    # `ct check` says the same.
    assert main(["check", "--project", str(root), str(path)]) == 0
    assert f"declared at ct.yaml line {line_of(declared, '    amount:')}" in capsys.readouterr().out


def test_a_rule_left_at_its_default_says_so_and_the_share_names_its_line(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    example = (EXAMPLES / "shop" / PROJECT_FILE).read_text()
    declared = example.replace("quality:\n", "quality:\n  max_bad_row_share: 0.002\n", 1)
    (root / PROJECT_FILE).write_text(declared)
    project = load_project(root, {})
    day = DriftingSource(start=date(2026, 1, 1), rows_per_day=1000).day(0)
    day = pd.concat([day, day.iloc[[5, 6, 7]]], ignore_index=True)  # three rows sent twice
    outcome = check_file(write_atomically(day, tmp_path / "d.csv"), project.spec)
    outcome = outcome.located(project.locate)
    assert not outcome.ok
    share_line = line_of(declared, "  max_bad_row_share: 0.002")
    assert f"(declared at ct.yaml line {share_line}: quality.max_bad_row_share)" in outcome.share
    (failure,) = outcome.failures
    assert failure.describe().endswith(
        "at lines 1002, 1003, 1004 (default: quality.duplicate_rows)"
    )


def test_every_format_numbers_rows_as_a_reader_finds_them(tmp_path: Path) -> None:
    day = SOURCE.day(0).copy()
    day.loc[3, "n_items"] = 0  # the 4th data row
    csv = check_file(write_atomically(day, tmp_path / "d.csv"), SHOP)
    day.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    jsonl = check_file(tmp_path / "d.jsonl", SHOP)
    day.to_parquet(tmp_path / "d.parquet", index=False)
    parquet = check_file(tmp_path / "d.parquet", SHOP)
    where = {}
    for kind, outcome in (("csv", csv), ("jsonl", jsonl), ("parquet", parquet)):
        assert outcome.set_aside is not None, outcome.reason()
        (failure,) = outcome.set_aside.failures
        where[kind] = failure.describe().split(" in 1 row at ")[1].split(" (")[0]
    # CSV: the header is line 1; JSON Lines: one record a line; Parquet: rows counted from 1.
    assert where == {"csv": "line 5", "jsonl": "line 4", "parquet": "row 4"}
    # A file to score (`ct predict`) is numbered the same way; one without its label is scored.
    with pytest.raises(BadInput, match=r"column 'n_items' out_of_range: .* at line 5 \(value '0'"):
        input_features(day.to_csv(index=False).encode(), "score.csv", SHOP)
    unlabelled = SOURCE.day(0).drop(columns="label").to_csv(index=False).encode()
    assert len(input_features(unlabelled, "score.csv", SHOP)) == 300
