"""How a sample file is written, found by `ct init` and declared as `dataset.format`.

The delimiter and quote come from DuckDB's CSV sniffer, the encoding from charset detection
(charset-normalizer) when the bytes are not UTF-8; the decimal mark, digit groups and null
placeholders from the values, where only a reading of the columns can tell. Each finding comes
with the reason `ct init` writes beside it.
"""

from __future__ import annotations

import codecs
import gzip
import io
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ct_assets.ingest.dialect import (
    BOMS,
    DEFAULT,
    GZIP_MAGIC,
    Delivery,
    likely_encoding,
    number_pattern,
    number_text,
    shown,
)
from ct_assets.ingest.parsing import SEP_LINE, parse_text
from ct_assets.ml.schema import NULL_TOKENS

# Bytes of the sample the sniffers read: enough rows to see every column's writing.
SNIFF_BYTES = 1 << 20
# Cells that stand for "no value" in exports and hand-kept sheets, besides the spellings ct
# reads as missing anyway (NA, null, None, ...): read as missing only once declared.
# `\N` is how PostgreSQL's and MySQL's dumps write NULL.
PLACEHOLDERS = (
    "-",
    "--",
    "---",
    "?",
    ".",
    "\u2013",
    "\u2014",
    "n.a.",
    "N.A.",
    "n/v",
    "#N/A",
    "\\N",
)
# Ways of writing numbers, plainest first: a column fits the first that reads all its values.
WRITINGS: tuple[tuple[str, str | None], ...] = (
    (".", None),
    (",", None),
    (",", "."),
    (",", " "),
    (",", "\u00a0"),
    (",", "\u202f"),
    (".", ","),
    (".", "'"),
    (",", "'"),
)


@dataclass(frozen=True)
class Sniffed:
    """The declared dialect and, per `dataset.format` key, why."""

    delivery: Delivery = DEFAULT
    reasons: dict[str, str] = field(default_factory=dict)
    review: tuple[str, ...] = ()  # what the user should look at


def decompressed(data: bytes, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the file's content, and whether it was gzip."""
    if not data.startswith(GZIP_MAGIC):
        return data[:limit], False
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        try:
            return stream.read(limit), True
        except (EOFError, OSError, zlib.error):
            return b"", True


def sniff_encoding(data: bytes) -> tuple[str, str, int]:
    """The encoding, why, and the length of the byte-order mark to skip."""
    bom, codec = next(((b, c) for b, c in BOMS if data.startswith(b)), (b"", ""))
    if bom:
        note = "a UTF-8 byte-order mark starts the file (read either way, never part of a name)"
        if codec != "utf-8":
            note = f"the file starts with a {codec.upper()} byte-order mark"
        return codec, note, len(bom) if codec == "utf-8" else 0
    try:
        # The sample may be cut inside a character: up to 3 bytes short of the end may be a
        # part of one.
        _utf8_prefix(data)
        return "utf-8", "every byte read is UTF-8", 0
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = likely_encoding(data)
        if name is None:
            return "utf-8", f"not UTF-8 (line {line}) and no encoding fits: check the file", 0
        return name, f"not UTF-8 (line {line}): charset detection reads it as {name}", 0


def _utf8_prefix(data: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    return decoder.decode(data, final=False)


def sniff(data: bytes, name: str) -> Sniffed:
    """The dialect of a sample's bytes (a prefix of the file is enough)."""
    content, gzipped = decompressed(data, SNIFF_BYTES)
    reasons: dict[str, str] = {}
    if gzipped:
        reasons["compression"] = "auto: the sample is gzip, known by its bytes whatever the name"
    encoding, why, skip = sniff_encoding(content)
    reasons["encoding"] = why
    text = _decoded(content[skip:], encoding)
    fields: dict[str, object] = {"encoding": encoding}
    lowered = name.lower().removesuffix(".gz")
    if lowered.endswith((".json", ".jsonl", ".ndjson")) or text.lstrip()[:1] in ("{", "["):
        return Sniffed(Delivery.model_validate(fields), reasons)
    hint = SEP_LINE.fullmatch(text.split("\n", 1)[0])
    if hint is not None:  # Excel's first line naming the separator
        delimiter, quote = hint.group(1), '"'
        why = f"{shown(delimiter)}: the file's first line says sep={delimiter}"
    else:
        delimiter, quote, why = sniff_delimiter(text)
    fields |= {"delimiter": delimiter, "quote": quote}
    reasons["delimiter"] = why
    frame = _frame(text, Delivery.model_validate(fields))
    review: list[str] = []
    if frame is not None:
        writing, why = numbers_writing(frame, delimiter)
        if writing != (".", None):
            fields |= {"decimal": writing[0], "thousands": writing[1]}
            reasons["decimal"] = why
            if writing[1] is not None:
                reasons["thousands"] = why
        nulls, why = placeholders(frame, Delivery.model_validate(fields))
        if nulls:
            fields["nulls"] = nulls
            reasons["nulls"] = why
            review.append(f"dataset.format.nulls: {why}")
    return Sniffed(Delivery.model_validate(fields), reasons, tuple(review))


def _decoded(content: bytes, encoding: str) -> str:
    if encoding == "utf-8":
        return _utf8_prefix(content)
    return content.decode(encoding, errors="replace")


def sniff_delimiter(text: str) -> tuple[str, str, str]:
    """The delimiter and quote DuckDB's sniffer finds in the sample's complete lines."""
    import duckdb

    cut = text[: text.rfind("\n") + 1] or text
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.csv"
        path.write_text(cut, encoding="utf-8")
        try:
            rows = duckdb.execute(
                "SELECT Delimiter, Quote FROM sniff_csv(?, sample_size = -1)", [str(path)]
            ).fetchall()
        except duckdb.Error as exc:
            return ",", '"', f"',' (DuckDB's sniffer could not read the sample: {exc})"
    if not rows:
        return ",", '"', "',' (DuckDB's sniffer found no rows)"
    row = rows[0]
    delimiter = str(row[0]) if len(str(row[0])) == 1 else ","
    quote = str(row[1]) if len(str(row[1])) == 1 else '"'
    return delimiter, quote, f"{shown(delimiter)}: found by DuckDB's CSV sniffer"


def _frame(text: str, delivery: Delivery) -> pd.DataFrame | None:
    # Complete lines only: the sample may end inside a row.
    return parse_text(text[: text.rfind("\n") + 1] or text, delivery).frame


def _cells(values: pd.Series) -> pd.Series:
    text = values.dropna().astype(str).str.strip()
    return text[(text != "") & ~text.isin(PLACEHOLDERS) & ~text.str.lower().isin(_NULLS)]


# The spellings ct reads as missing anyway in typed columns (the empty cell aside).
_NULLS = NULL_TOKENS - {""}


def numbers_writing(frame: pd.DataFrame, delimiter: str) -> tuple[tuple[str, str | None], str]:
    """The decimal mark and digit-group separator the sample's numbers are written with.

    A column counts as evidence when its values are numbers in some writing but not plain
    ones; the writing that reads the most such columns wins. Where `1,234` could be a decimal
    comma or a digit group, a semicolon-delimited file (Europe's CSV) decides for the comma.
    """
    votes: dict[tuple[str, str | None], list[str]] = {}
    for name in frame.columns:
        cells = _cells(frame[name]).head(2_000)
        if cells.empty or cells.str.fullmatch(number_pattern(".", None)).all():
            continue
        fits = [w for w in WRITINGS[1:] if cells.str.fullmatch(number_pattern(*w)).all()]
        for writing in fits:
            votes.setdefault(writing, []).append(str(name))
    if not votes:
        return (".", None), "numbers are plain"
    most = max(len(v) for v in votes.values())
    best = [w for w, columns in votes.items() if len(columns) == most]
    if len(best) > 1 and delimiter == ";":
        best = [w for w in best if w[0] == ","] or best
    writing = best[0]
    columns = votes[writing]
    group = f" and digit groups split by {shown(writing[1])}" if writing[1] else ""
    also = f" (or {len(best) - 1} other writing(s) that read them too)" if len(best) > 1 else ""
    return writing, (
        f"{writing[0]!r} as the decimal mark{group}: how {', '.join(columns[:4])} "
        f"{'is' if len(columns) == 1 else 'are'} written{also}"
    )


def placeholders(frame: pd.DataFrame, delivery: Delivery) -> tuple[list[str] | None, str]:
    """Placeholder cells ('-', '?', ...) in columns of numbers or times: declared as nulls."""
    found: dict[str, list[str]] = {}
    for name in frame.columns:
        text = frame[name].dropna().astype(str).str.strip()
        marks = text[text.isin(PLACEHOLDERS)]
        if marks.empty:
            continue
        rest = _cells(frame[name])
        if rest.empty:
            continue
        numbers = number_text(rest, delivery)[1]
        if numbers.any():
            continue  # not all numbers: the placeholder may be a value of a text column
        for mark in marks.unique():
            found.setdefault(str(mark), []).append(str(name))
    if not found:
        return None, ""
    spelled = [
        t
        for t in sorted(_NULLS)
        for c in frame.columns
        if frame[c].dropna().astype(str).str.strip().str.lower().eq(t).any()
    ]
    tokens = sorted({*found, *(_spellings(frame, spelled))})
    where = "; ".join(f"{m!r} in {', '.join(cols[:3])}" for m, cols in found.items())
    return tokens, f"placeholders for a missing number: {where}, read as missing in every column"


def _spellings(frame: pd.DataFrame, lowered: list[str]) -> set[str]:
    """The null spellings the sample writes, as written (NA, null): kept missing once the
    declared list replaces ct's own."""
    if not lowered:
        return set()
    seen: set[str] = set()
    for name in frame.columns:
        text = frame[name].dropna().astype(str).str.strip()
        seen |= set(text[text.str.lower().isin(lowered)].unique())
    return seen
