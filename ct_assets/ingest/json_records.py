"""JSON deliveries read into a frame of text cells: one JSON array of objects, or one JSON object
per line (JSON Lines), each record numbered by the line a reader finds it on."""

from __future__ import annotations

import json
import json.scanner

import numpy as np
import pandas as pd

from ct_assets.ingest.parsed import Parsed, refused
from ct_assets.ml.schema import Lines


def parse_json(text: str) -> Parsed:
    """One JSON array of objects, or one JSON object per line."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            rule = "truncated" if exc.pos >= len(text.rstrip()) else "not_json"
            detail = f"line {exc.lineno}: not a JSON array ({exc.msg})"
            return refused(rule, detail, lines=[exc.lineno])
        if not records:
            return refused("empty_file", "0 records")
        at = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
        if at is not None:
            detail = f"record {at + 1} of the array is not a JSON object"
            return refused("not_json", detail, [at], delivered=len(records))
        # An array has no line per record: records are numbered from 1.
        return Parsed(_text_frame(records), [], Lines("record", 1))
    # Each record with the line it is on (blank lines hold none).
    lines = [(n + 1, line) for n, line in enumerate(text.splitlines()) if line.strip()]
    if not lines:
        return refused("empty_file", "0 records")
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
            return refused(rule, detail, [number], [at], len(lines))
        if not isinstance(record, dict):
            detail = f"line {at} is not a JSON object"
            return refused("not_json", detail, [number], [at], len(lines))
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
