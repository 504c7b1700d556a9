"""Reading the sample `ct init` infers a project from: its first rows, as ct reads deliveries.

The dialect is found first (`ingest.sniff`), then the rows are read by the parser every
delivery goes through, with that dialect: what the inference sees is what quarantine will judge.
Numbers in a declared writing (decimal commas, digit groups) are rewritten as Python writes them
and declared placeholders read as missing, as the validator does, so the inference types them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ct_assets.ingest.dialect import Delivery, number_text
from ct_assets.ingest.parsing import (
    JSONL_SUFFIXES,
    PARQUET_MAGIC,
    PARQUET_SUFFIXES,
    decode,
    parse_text,
)
from ct_assets.ingest.sniff import Sniffed, decompressed, sniff
from ct_assets.project.infer import Sample
from ct_assets.project.load import ProjectError

# Bytes of text read for the sample: far more than `ct init`'s rows need on typical rows.
READ_BYTES = 256 << 20


def read_sample(path: Path, max_rows: int) -> Sample:
    """The first `max_rows` rows of a delimited text, JSON (Lines) or Parquet file, as ct
    would read them, with the dialect it is written in."""
    if not path.is_file():
        raise ProjectError(f"--from {path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(READ_BYTES + 1)
    if head.startswith(PARQUET_MAGIC) or path.name.lower().endswith(PARQUET_SUFFIXES):
        frame, total = _read_parquet(path, max_rows)
        dialect = Sniffed()
        cut = False
    else:
        if not head.strip():
            raise ProjectError(f"--from {path}: empty: no header and no rows")
        content, _ = decompressed(head, READ_BYTES + 1)
        if b"\x00" in content[:4096] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ProjectError(f"--from {path}: a binary file, not delimited text, JSON or Parquet")
        cut = len(head) > READ_BYTES or len(content) > READ_BYTES
        dialect = sniff(head, path.name)
        text = _full_text(path, content[:READ_BYTES], dialect, cut)
        json = path.name.lower().removesuffix(".gz").endswith(JSONL_SUFFIXES) or text.lstrip()[
            :1
        ] in ("{", "[")
        parsed = parse_text(text, dialect.delivery, as_json=json)
        if parsed.frame is None and parsed.failures[0].rule == "header_only":
            raise ProjectError(f"--from {path}: no rows: ct init infers the columns from rows")
        if parsed.frame is None:
            reason = "; ".join(f.describe() for f in parsed.failures)
            raise ProjectError(f"--from {path}: cannot be read: {reason}")
        frame, total = as_declared(parsed.frame, dialect.delivery), None
    if frame.empty:
        raise ProjectError(f"--from {path}: no rows: ct init infers the columns from rows")
    truncated = cut or len(frame) > max_rows or (total is not None and total > max_rows)
    return Sample(frame.iloc[:max_rows], path.name, total, truncated, dialect)


def _full_text(path: Path, content: bytes, dialect: Sniffed, cut: bool) -> str:
    # A read that stopped inside the file may end inside a row, or a character: whole lines.
    text = decode(content[: content.rfind(b"\n") + 1] if cut else content, dialect.delivery)
    if isinstance(text, str):
        return text
    reason = "; ".join(f.describe() for f in text.failures)
    raise ProjectError(f"--from {path}: cannot be read as {dialect.delivery.encoding}: {reason}")


def as_declared(frame: pd.DataFrame, delivery: Delivery) -> pd.DataFrame:
    """Cells as the validator reads them under `delivery`: declared nulls missing, numbers in
    the declared writing rewritten plainly (only in columns where every value is one)."""
    frame = frame.copy()
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object:
            continue
        if delivery.nulls is not None:
            tokens = {"", *delivery.nulls}
            values = values.mask(values.astype(str).str.strip().isin(tokens))
        if not delivery.plain_numbers and values.notna().any():
            text, bad = number_text(values, delivery)
            if not bad.any():
                values = text
        frame[name] = values
    return frame


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
