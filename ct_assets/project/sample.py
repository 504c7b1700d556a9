"""Reading the sample `ct init` infers a project from: its first rows, as ct reads deliveries.

Every cell is kept as text, as the validator receives a delivered CSV or JSON Lines file, so
what the inference sees is what quarantine will judge.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO

import pandas as pd

from ct_assets.ingest.parsing import CSV_SUFFIXES, JSONL_SUFFIXES, PARQUET_SUFFIXES
from ct_assets.project.infer import Sample
from ct_assets.project.load import ProjectError


def read_sample(path: Path, max_rows: int) -> Sample:
    """The first `max_rows` rows of a CSV, JSON Lines or Parquet file, as ct would read them."""
    if not path.is_file():
        raise ProjectError(f"--from {path}: no such file")
    lowered = path.name.lower()
    try:
        if lowered.endswith(PARQUET_SUFFIXES):
            frame, total = _read_parquet(path, max_rows)
        elif lowered.endswith(JSONL_SUFFIXES):
            frame, total = _read_jsonl(path, max_rows), None
        elif lowered.endswith(CSV_SUFFIXES):
            frame, total = _read_csv(path, max_rows), None
        else:
            raise ProjectError(
                f"--from {path}: expected .csv, .csv.gz, .parquet or .jsonl (optionally .gz)"
            )
    except UnicodeDecodeError as exc:
        raise ProjectError(f"--from {path}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError, ValueError) as exc:
        if isinstance(exc, ProjectError):
            raise
        raise ProjectError(f"--from {path}: cannot be read ({exc})") from None
    if frame.empty:
        raise ProjectError(f"--from {path}: no rows: ct init infers the columns from rows")
    truncated = len(frame) > max_rows or (total is not None and total > max_rows)
    return Sample(frame.iloc[:max_rows], path.name, total, truncated)


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _read_csv(path: Path, max_rows: int) -> pd.DataFrame:
    # Read as the validator reads a delivered CSV: every cell as text, a blank line skipped.
    with _open_text(path) as handle:
        rows: Iterator[list[str]] = (r for r in csv.reader(handle) if r)
        header = next(rows, None)
        if header is None:
            raise ProjectError(f"--from {path}: empty: no header and no rows")
        body = list(islice(rows, max_rows + 1))
    ragged = next((i for i, row in enumerate(body) if len(row) != len(header)), None)
    if ragged is not None:
        raise ProjectError(
            f"--from {path}: row {ragged + 1} has {len(body[ragged])} fields, the header has "
            f"{len(header)}"
        )
    return pd.DataFrame(body, columns=header, dtype=str)


def _read_jsonl(path: Path, max_rows: int) -> pd.DataFrame:
    records = []
    with _open_text(path) as handle:
        lines = (line for line in handle if line.strip())
        for number, line in enumerate(islice(lines, max_rows + 1)):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProjectError(
                    f"--from {path}: record {number + 1} is not JSON ({exc})"
                ) from None
            if not isinstance(record, dict):
                raise ProjectError(f"--from {path}: record {number + 1} is not a JSON object")
            records.append(record)
    # Values as text, as ct reads JSON Lines: one declaration reads every format alike.
    frame = pd.DataFrame.from_records(records).astype(object)
    return frame.where(frame.isna(), frame.astype(str))


def _read_parquet(path: Path, max_rows: int) -> tuple[pd.DataFrame, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        batches = []
        read = 0
        for batch in parquet.iter_batches(batch_size=65_536):
            batches.append(batch)
            read += batch.num_rows
            if read > max_rows:
                break
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except pa.ArrowException as exc:
        raise ProjectError(f"--from {path}: not a readable Parquet file ({exc})") from None
    strings = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    frame = table.slice(0, max_rows + 1).to_pandas(types_mapper=strings.get)
    return frame, int(parquet.metadata.num_rows)
