"""Delimited text (CSV, TSV, ...) read into a frame of text cells in the declared dialect: by
Arrow's reader when it can, else by Python's csv module, to say which line is wrong and why."""

from __future__ import annotations

import _csv
import csv
import io
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ct_assets.ingest.dialect import Delivery, shown
from ct_assets.ingest.parsed import Parsed, refused
from ct_assets.ml.schema import Lines

# Excel's first line naming the separator (`sep=;`), before the header.
SEP_LINE = re.compile(r'"?sep=(.)"?\r?')


def parse_csv(text: str, delivery: Delivery) -> Parsed:
    if not text.strip():
        return refused("empty_file", "0 bytes: no header and no rows")
    first = text.split("\n", 1)[0]
    hint = SEP_LINE.fullmatch(first)
    if hint is not None:
        if hint.group(1) != delivery.delimiter:
            return refused(
                "delimiter",
                f"the first line says sep={hint.group(1)}; dataset.format.delimiter is "
                f"{shown(delivery.delimiter)}",
                lines=[1],
            )
        parsed = parse_csv(text[len(first) + 1 :], delivery)
        return _shifted(parsed, 1)
    header = next(_reader(text, delivery), [])
    if len(header) == 1:
        other = _other_delimiter(header[0], delivery)
        if other:
            return refused(
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
        return refused("header_only", "a header and no rows")
    lines = _csv_lines(text, rows, delivery)
    ragged = [i for i, row in enumerate(body) if len(row) != len(header)]
    if ragged:
        last = ragged[-1] == len(body) - 1 and not text.endswith("\n")
        rule = "truncated" if last and len(ragged) == 1 else "field_count"
        sample = body[ragged[0]]
        at = lines.of(ragged[:5])
        return refused(
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
