"""Turning a delivered file into a text frame, or into the structural reason it cannot be read."""

from __future__ import annotations

import _csv
import csv
import gzip
import io
import json
import json.scanner
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ct_assets.ingest.dialect import BOMS, DEFAULT, GZIP_MAGIC, Delivery, likely_encoding, shown
from ct_assets.ml.schema import Lines, SchemaFailure, ValidationOutcome, validate_batch
from ct_assets.project.spec import ProjectSpec

# Delimited text, as spreadsheets, databases and log shippers name it; the separator is
# `dataset.format.delimiter`'s, whatever the name says.
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
# One JSON object per line (how records pulled from streams and HTTP APIs are kept as they came),
# or one JSON array of objects (.json, as APIs and exports write them).
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + JSONL_SUFFIXES
PARQUET_MAGIC = b"PAR1"


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


def parse_bytes(
    data: bytes, name: str, time_column: str | None = None, delivery: Delivery = DEFAULT
) -> Parsed:
    """Parse delimited text, JSON (Lines) or Parquet bytes as `delivery` declares them (gzip
    when the bytes are gzip); never raises for bad content.

    `time_column` names a column of ISO times that Arrow parses while reading Parquet.
    """
    lowered = name.lower()
    if data.startswith(PARQUET_MAGIC) or lowered.endswith(PARQUET_SUFFIXES):
        return _parse_parquet(data, time_column)
    compressed = data.startswith(GZIP_MAGIC)
    if compressed and delivery.compression == "none":
        return _refused(
            "compression", "the file is gzip-compressed; dataset.format.compression is none"
        )
    if not compressed and delivery.compression == "gzip" and data:
        return _refused(
            "compression", "the file is not gzip-compressed; dataset.format.compression is gzip"
        )
    if compressed:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            return _refused("truncated", f"gzip stream is cut short or corrupt ({exc})")
    base = lowered.removesuffix(".gz")
    if not base.endswith(CSV_SUFFIXES + JSONL_SUFFIXES):
        known = ", ".join(s for s in SUFFIXES if not s.endswith(".gz"))
        return _refused("unsupported_format", f"{name}: expected {known} (optionally .gz)")
    text = decode(data, delivery)
    if isinstance(text, Parsed):
        return text
    return parse_text(text, delivery, as_json=base.endswith(JSONL_SUFFIXES))


def parse_text(text: str, delivery: Delivery, as_json: bool = False) -> Parsed:
    """Decoded delimited text (or JSON) as a frame of text cells."""
    return _parse_json(text) if as_json else _parse_csv(text, delivery)


def decode(data: bytes, delivery: Delivery) -> str | Parsed:
    """The file's text in its declared encoding, its byte-order mark checked and dropped; or
    the refusal naming what differs (with the encoding the bytes look like)."""
    bom, codec = next(((b, c) for b, c in BOMS if data.startswith(b)), (b"", ""))
    if delivery.bom == "required" and not bom:
        return _refused("bom", "the file has no byte-order mark; dataset.format.bom is required")
    if delivery.bom == "absent" and bom:
        return _refused(
            "bom", "the file starts with a byte-order mark; dataset.format.bom is absent"
        )
    declared = delivery.encoding
    family = "utf-8" if declared == "utf-8-sig" else declared
    unicode = family.startswith("utf")
    if bom and not family.startswith(codec):
        return _refused(
            "encoding",
            f"the file starts with a {codec.upper()} byte-order mark; dataset.format.encoding "
            f"declares {declared}",
            lines=[1],
        )
    try:
        # UTF-16 and -32 codecs read their own mark (and need it to know the byte order).
        text = data[len(bom) :].decode(family) if codec == "utf-8" else data.decode(family)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        count = sum(1 for raw in data.splitlines() if raw.strip()) - 1
        detail = f"byte 0x{byte} is not {declared}{_looks_like(data, declared)}"
        return _refused("encoding", detail, lines=[line], delivered=max(0, count))
    if not unicode and not text.isascii():
        # A single-byte codec reads any bytes: UTF-8 read as latin-1 turns every accent into
        # two letters without an error. Text that is valid UTF-8 was written as UTF-8.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return text
        first = next(i for i, ch in enumerate(text) if not ch.isascii())
        line = text[:first].count("\n") + 1
        return _refused(
            "encoding",
            f"the text is UTF-8; dataset.format.encoding declares {declared}",
            lines=[line],
        )
    return text


def _looks_like(data: bytes, declared: str) -> str:
    """The encoding the bytes look like, as a hint; charset detection, not a reading."""
    best = likely_encoding(data)
    if best is None or best == declared:
        return ""
    return (
        f" (the file looks like {best}: declare dataset.format.encoding: {best}, "
        f"or deliver {declared})"
    )


def _parse_json(text: str) -> Parsed:
    """One JSON array of objects, or one JSON object per line."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            rule = "truncated" if exc.pos >= len(text.rstrip()) else "not_json"
            detail = f"line {exc.lineno}: not a JSON array ({exc.msg})"
            return _refused(rule, detail, lines=[exc.lineno])
        if not records:
            return _refused("empty_file", "0 records")
        at = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
        if at is not None:
            detail = f"record {at + 1} of the array is not a JSON object"
            return _refused("not_json", detail, [at], delivered=len(records))
        # An array has no line per record: records are numbered from 1.
        return Parsed(_text_frame(records), [], Lines("record", 1))
    # Each record with the line it is on (blank lines hold none).
    lines = [(n + 1, line) for n, line in enumerate(text.splitlines()) if line.strip()]
    if not lines:
        return _refused("empty_file", "0 records")
    records = _objects(lines)
    if records is None:
        careful = _line_by_line(lines, text)
        if isinstance(careful, Parsed):
            return careful
        records = careful
    numbers = np.array([at for at, _ in lines], dtype=np.int64)
    return Parsed(_text_frame(records), [], Lines("line", numbers=numbers))


def _line_by_line(lines: list[tuple[int, str]], text: str) -> list[dict[str, object]] | Parsed:
    """Each line's JSON object, or the refusal naming the first line that is not one."""
    records = []
    for number, (at, line) in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            last = number == len(lines) - 1 and not text.endswith("\n")
            rule = "truncated" if last else "not_json"
            detail = f"line {at} is not a JSON object ({exc})"
            return _refused(rule, detail, [number], [at], len(lines))
        if not isinstance(record, dict):
            detail = f"line {at} is not a JSON object"
            return _refused("not_json", detail, [number], [at], len(lines))
        records.append(record)
    return records


# The C scanner behind json.loads: json.loads of a short line spends more time around the
# scanner than in it (a 50k-line stream batch: 1.0 s per line, 0.44 s scanned directly).
# (typeshed declares make_scanner as a class taking itself; it takes a decoder.)
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _objects(lines: list[tuple[int, str]]) -> list[dict[str, object]] | None:
    """Each line's one JSON object, exactly as json.loads would read it; None at the first line
    that is anything else, so that the line-by-line path says which line and why."""
    records = []
    try:
        for _, line in lines:
            record, end = _SCAN(line, 0)
            # After the object json.loads allows JSON's whitespace only.
            if not isinstance(record, dict) or line[end:].strip(" \t\n\r"):
                return None
            records.append(record)
    except (StopIteration, ValueError):
        return None
    return records


def _text_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    # Values stay as text, like CSV cells, so one schema coerces every format the same way.
    frame = pd.DataFrame.from_records(records).astype(object)
    return frame.where(frame.isna(), frame.astype(str))


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


# Excel's first line naming the separator (`sep=;`), before the header.
SEP_LINE = re.compile(r'"?sep=(.)"?\r?')


def _parse_csv(text: str, delivery: Delivery) -> Parsed:
    if not text.strip():
        return _refused("empty_file", "0 bytes: no header and no rows")
    first = text.split("\n", 1)[0]
    hint = SEP_LINE.fullmatch(first)
    if hint is not None:
        if hint.group(1) != delivery.delimiter:
            return _refused(
                "delimiter",
                f"the first line says sep={hint.group(1)}; dataset.format.delimiter is "
                f"{shown(delivery.delimiter)}",
                lines=[1],
            )
        parsed = _parse_csv(text[len(first) + 1 :], delivery)
        return _shifted(parsed, 1)
    header = next(_reader(text, delivery), [])
    if len(header) == 1:
        other = _other_delimiter(header[0], delivery)
        if other:
            return _refused(
                "delimiter",
                f"the header is delimited by {shown(other)}; dataset.format.delimiter is "
                f"{shown(delivery.delimiter)}",
                lines=[1],
                delivered=sum(1 for line in text.splitlines()[1:] if line.strip()),
            )
    fast = _arrow_frame(text, delivery, header)
    if fast is not None and not fast.empty:
        physical = text.count("\n") + (0 if text.endswith("\n") else 1)
        if physical == len(fast) + 1:  # a record a line: the common case, arithmetic
            return Parsed(fast, [], Lines("line", 2))
        return Parsed(fast, [], _csv_lines(text, list(_reader(text, delivery)), delivery))
    # A file Arrow cannot read as a table (a row with too many or too few fields, a quote
    # left open) or with no rows: read again by Python's csv module, to say where and why.
    rows = list(_reader(text, delivery))
    body = [r for r in rows[1:] if r]
    if not body:
        return _refused("header_only", "a header and no rows")
    lines = _csv_lines(text, rows, delivery)
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


def _arrow_frame(text: str, delivery: Delivery, header: list[str]) -> pd.DataFrame | None:
    """Every cell as text, read by Arrow's CSV reader (in C, 4x Python's csv module), with the
    dialect's delimiter and quote; None where Arrow refuses the file, for the careful reader."""
    if not header or len(set(header)) != len(header):
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            parse_options=pacsv.ParseOptions(
                delimiter=delivery.delimiter,
                quote_char=delivery.quote,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            # Cells as delivered: the schema types them, by the declaration, not by Arrow.
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.column_names != header:
        return None
    return table.to_pandas()


def _shifted(parsed: Parsed, by: int) -> Parsed:
    """A parse of the text after `by` lines, numbered as the whole file's lines."""
    lines = parsed.lines
    moved = (
        Lines(lines.unit, lines.first + by)
        if lines.numbers is None
        else Lines(lines.unit, numbers=lines.numbers + by)
    )
    failures = [replace(f, lines=[n + by for n in f.lines]) for f in parsed.failures]
    return Parsed(parsed.frame, failures, moved, parsed.rows)


def _other_delimiter(header: str, delivery: Delivery) -> str | None:
    """The separator a one-field header is written with, when it is not the declared one."""
    for candidate in (",", ";", "\t", "|"):
        if candidate != delivery.delimiter and candidate in header:
            fields = next(csv.reader([header], delimiter=candidate, quotechar=delivery.quote))
            if len(fields) > 1 and all(f.strip() for f in fields):
                return candidate
    return None


def _reader(text: str, delivery: Delivery) -> _csv.Reader:
    return csv.reader(io.StringIO(text), delimiter=delivery.delimiter, quotechar=delivery.quote)


def _csv_lines(text: str, rows: list[list[str]], delivery: Delivery) -> Lines:
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
    reader = _reader(text, delivery)
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
    return parse_spec_bytes(path.read_bytes(), path.name, spec)


def parse_spec_bytes(data: bytes, name: str, spec: ProjectSpec) -> Parsed:
    """A delivered file read as the project declares its files."""
    return parse_bytes(data, name, iso_time_column(spec), spec.dataset.format)


def check_file(
    path: Path,
    spec: ProjectSpec,
    name: str | None = None,
    place: Callable[[pd.Series], np.ndarray] | None = None,
) -> ValidationOutcome:
    """Everything ct checks about one delivered file: its structure, then its schema, with the
    rows a few of which it may set aside (as the quarantine judges a delivery)."""
    return check_bytes(path.read_bytes(), spec, name or path.name, place)


def check_bytes(
    data: bytes,
    spec: ProjectSpec,
    source: str,
    place: Callable[[pd.Series], np.ndarray] | None = None,
) -> ValidationOutcome:
    """`check_file` on a file's bytes, wherever they were read from; `place` says which event
    times fit the batch's partitions (rows outside them are set aside as no_partition)."""
    parsed = parse_spec_bytes(data, source, spec)
    if parsed.frame is None:
        return ValidationOutcome(source, None, parsed.failures, parsed.rows)
    return validate_batch(
        parsed.frame, source, spec, lines=parsed.lines, split_rows=True, place=place
    )
