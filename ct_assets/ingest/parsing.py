"""Turning a delivered file into a text frame, or into the structural reason it cannot be read.

Here: the file's format and compression, its text in the declared encoding, Parquet, and the
checks of a whole delivered file. Delimited text is read in `delimited`, JSON in
`json_records`; `Parsed` is in `parsed`. Every name is importable from here as before.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ct_assets.ingest.delimited import SEP_LINE, parse_csv
from ct_assets.ingest.dialect import BOMS, DEFAULT, GZIP_MAGIC, Delivery, likely_encoding
from ct_assets.ingest.json_records import parse_json
from ct_assets.ingest.parsed import ROWS, Parsed, refused
from ct_assets.ml.schema import ValidationOutcome, validate_batch
from ct_assets.project.spec import ProjectSpec

__all__ = [
    "CSV_SUFFIXES",
    "JSONL_SUFFIXES",
    "PARQUET_MAGIC",
    "PARQUET_SUFFIXES",
    "ROWS",
    "SEP_LINE",
    "SUFFIXES",
    "Parsed",
    "check_bytes",
    "check_file",
    "decode",
    "iso_time_column",
    "parse_bytes",
    "parse_file",
    "parse_spec_bytes",
    "parse_text",
]


# Delimited text, as spreadsheets, databases and log shippers name it; the separator is
# `dataset.format.delimiter`'s, whatever the name says.
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")


PARQUET_SUFFIXES = (".parquet", ".pq")


# One JSON object per line (how records pulled from streams and HTTP APIs are kept as they came),
# or one JSON array of objects (.json, as APIs and exports write them).
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")


SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + JSONL_SUFFIXES


PARQUET_MAGIC = b"PAR1"


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
        return refused(
            "compression", "the file is gzip-compressed; dataset.format.compression is none"
        )
    if not compressed and delivery.compression == "gzip" and data:
        return refused(
            "compression", "the file is not gzip-compressed; dataset.format.compression is gzip"
        )
    if compressed:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            return refused("truncated", f"gzip stream is cut short or corrupt ({exc})")
    base = lowered.removesuffix(".gz")
    if not base.endswith(CSV_SUFFIXES + JSONL_SUFFIXES):
        known = ", ".join(s for s in SUFFIXES if not s.endswith(".gz"))
        return refused("unsupported_format", f"{name}: expected {known} (optionally .gz)")
    text = decode(data, delivery)
    if isinstance(text, Parsed):
        return text
    return parse_text(text, delivery, as_json=base.endswith(JSONL_SUFFIXES))


def parse_text(text: str, delivery: Delivery, as_json: bool = False) -> Parsed:
    """Decoded delimited text (or JSON) as a frame of text cells."""
    return parse_json(text) if as_json else parse_csv(text, delivery)


def decode(data: bytes, delivery: Delivery) -> str | Parsed:
    """The file's text in its declared encoding, its byte-order mark checked and dropped; or
    the refusal naming what differs (with the encoding the bytes look like)."""
    bom, codec = next(((b, c) for b, c in BOMS if data.startswith(b)), (b"", ""))
    if delivery.bom == "required" and not bom:
        return refused("bom", "the file has no byte-order mark; dataset.format.bom is required")
    if delivery.bom == "absent" and bom:
        return refused(
            "bom", "the file starts with a byte-order mark; dataset.format.bom is absent"
        )
    declared = delivery.encoding
    family = "utf-8" if declared == "utf-8-sig" else declared
    unicode = family.startswith("utf")
    if bom and not family.startswith(codec):
        return refused(
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
        return refused("encoding", detail, lines=[line], delivered=max(0, count))
    if not unicode and not text.isascii():
        # A single-byte codec reads any bytes: UTF-8 read as latin-1 turns every accent into
        # two letters without an error. Text that is valid UTF-8 was written as UTF-8.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return text
        first = next(i for i, ch in enumerate(text) if not ch.isascii())
        line = text[:first].count("\n") + 1
        return refused(
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


def _parse_parquet(data: bytes, time_column: str | None) -> Parsed:
    if not data:
        return refused("empty_file", "0 bytes: no schema and no rows")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        return refused("truncated", f"not a readable Parquet file ({exc})")
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
