"""Turning a delivered file into a text frame, or into the structural reason it cannot be read."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ct_assets.ml.schema import Lines, SchemaFailure, ValidationOutcome, validate_batch
from ct_assets.project.spec import ProjectSpec

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
# One JSON object per line: how records pulled from streams and HTTP APIs are kept as they came.
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + JSONL_SUFFIXES


# Where a reader finds a row: CSV and JSON Lines by the line a text editor shows, Parquet by
# its row number (1 for the first).
ROWS = Lines("row", 1)


@dataclass(frozen=True)
class Parsed:
    frame: pd.DataFrame | None
    failures: list[SchemaFailure]
    lines: Lines = field(default_factory=lambda: ROWS)
    rows: int = 0  # rows delivered, counted even when the file cannot be read as a table


def _refused(
    rule: str,
    detail: str,
    rows: list[int] | None = None,
    lines: list[int] | None = None,
    delivered: int = 0,
) -> Parsed:
    failure = SchemaFailure("*", rule, detail, rows or [], lines=lines or [])
    return Parsed(None, [failure], rows=delivered)


def parse_bytes(data: bytes, name: str, time_column: str | None = None) -> Parsed:
    """Parse CSV (optionally gzip) or Parquet bytes; never raises for bad content.

    `time_column` names a column of ISO times that Arrow parses while reading Parquet.
    """
    lowered = name.lower()
    if lowered.endswith(PARQUET_SUFFIXES):
        return _parse_parquet(data, time_column)
    if not lowered.endswith(CSV_SUFFIXES + JSONL_SUFFIXES):
        return _refused(
            "unsupported_format", f"{name}: expected .csv, .jsonl (optionally .gz) or .parquet"
        )
    if lowered.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            return _refused("truncated", f"gzip stream is cut short or corrupt ({exc})")
    if lowered.removesuffix(".gz").endswith(JSONL_SUFFIXES):
        return _parse_jsonl(data)
    return _parse_csv(data)


def _parse_jsonl(data: bytes) -> Parsed:
    # Each record with the line it is on (blank lines hold none).
    lines = [(n + 1, line) for n, line in enumerate(data.splitlines()) if line.strip()]
    if not lines:
        return _refused("empty_file", "0 records")
    records = []
    for number, (at, line) in enumerate(lines):
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            last = number == len(lines) - 1 and not data.endswith(b"\n")
            rule = "truncated" if last else "not_json"
            detail = f"line {at} is not a JSON object ({exc})"
            return _refused(rule, detail, [number], [at], len(lines))
        if not isinstance(record, dict):
            detail = f"line {at} is not a JSON object"
            return _refused("not_json", detail, [number], [at], len(lines))
        records.append(record)
    # Values stay as text, like CSV cells, so one schema coerces every format the same way.
    frame = pd.DataFrame.from_records(records).astype(object)
    frame = frame.where(frame.isna(), frame.astype(str))
    numbers = np.array([at for at, _ in lines], dtype=np.int64)
    return Parsed(frame, [], Lines("line", numbers=numbers))


def _parse_parquet(data: bytes, time_column: str | None) -> Parsed:
    if not data:
        return _refused("empty_file", "0 bytes: no schema and no rows")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        return _refused("truncated", f"not a readable Parquet file ({exc})")
    frame = (
        table.set_column(
            table.schema.get_field_index(time_column), time_column, _iso_times(table[time_column])
        )
        if time_column is not None and time_column in table.column_names
        else table
    )
    return Parsed(frame.to_pandas(types_mapper=_ARROW_STRINGS.get), [], ROWS)


# Strings stay in Arrow memory on the pandas side too (see schema.TEXT).
_ARROW_STRINGS = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
}
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S")


def _iso_times(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Event times written as text in one ISO format, parsed by Arrow (10x faster than pandas).

    Anything else is left as text for the schema to coerce, and to report value by value.
    """
    if not pa.types.is_string(column.type) or column.null_count:
        return column
    for fmt in _ISO_FORMATS:
        try:
            times = pc.strptime(column, format=fmt, unit="ns")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if times.type.tz is None:
            times = pc.assume_timezone(times, "UTC")
        return times.cast(pa.timestamp("ns", tz="UTC"))
    return column


def _parse_csv(data: bytes) -> Parsed:
    if not data.strip():
        return _refused("empty_file", "0 bytes: no header and no rows")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        # Rows it cannot read as text are still rows delivered: counted as non-blank lines.
        count = sum(1 for raw in data.splitlines() if raw.strip()) - 1
        detail = f"byte 0x{byte} at line {line} is not UTF-8"
        return _refused("not_utf8", detail, lines=[line], delivered=max(0, count))
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], [r for r in rows[1:] if r]
    if not body:
        return _refused("header_only", "a header and no rows")
    lines = _csv_lines(text, rows)
    ragged = [i for i, row in enumerate(body) if len(row) != len(header)]
    if ragged:
        last = ragged[-1] == len(body) - 1 and not text.endswith("\n")
        rule = "truncated" if last and len(ragged) == 1 else "field_count"
        sample = body[ragged[0]]
        at = lines.of(ragged[:5])
        return _refused(
            rule,
            f"line {at[0]} has {len(sample)} fields, the header has {len(header)}",
            ragged[:5],
            at,
            len(body),
        )
    return Parsed(pd.DataFrame(body, columns=header, dtype=str), [], lines)


def _csv_lines(text: str, rows: list[list[str]]) -> Lines:
    """The line each data row starts on (the header is line 1).

    Usually a record is a line and the answer is arithmetic; blank lines (no record) and quoted
    fields holding line breaks (a record over several lines) are counted out only when present.
    """
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical == len(rows):
        if all(rows[1:]):  # no blank line: the common case, in C
            return Lines("line", 2)
        filled = np.fromiter((bool(r) for r in rows[1:]), dtype=bool, count=len(rows) - 1)
        return Lines("line", numbers=np.flatnonzero(filled) + 2)
    reader = csv.reader(io.StringIO(text))
    next(reader)
    starts = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        if row:
            starts.append(start)
    return Lines("line", numbers=np.array(starts, dtype=np.int64))


def iso_time_column(spec: ProjectSpec) -> str | None:
    """The event-time column when Arrow may parse it on read (ISO text in UTC)."""
    column = spec.column(spec.dataset.time)
    plain = (column.format or "iso") == "iso" and column.timezone == "UTC"
    return spec.dataset.time if plain else None


def parse_file(path: Path, spec: ProjectSpec) -> Parsed:
    return parse_bytes(path.read_bytes(), path.name, iso_time_column(spec))


def check_file(path: Path, spec: ProjectSpec, name: str | None = None) -> ValidationOutcome:
    """Everything ct checks about one delivered file: its structure, then its schema, with the
    rows a few of which it may set aside (as the quarantine judges a delivery)."""
    return check_bytes(path.read_bytes(), spec, name or path.name)


def check_bytes(
    data: bytes,
    spec: ProjectSpec,
    source: str,
    place: Callable[[pd.Series], np.ndarray] | None = None,
) -> ValidationOutcome:
    """`check_file` on a file's bytes, wherever they were read from; `place` says which event
    times fit the batch's partitions (rows outside them are set aside as no_partition)."""
    parsed = parse_bytes(data, source, iso_time_column(spec))
    if parsed.frame is None:
        return ValidationOutcome(source, None, parsed.failures, parsed.rows)
    return validate_batch(
        parsed.frame, source, spec, lines=parsed.lines, split_rows=True, place=place
    )
