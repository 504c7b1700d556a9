"""Profiling: what the sample shows of one column before any role is known.

Its kind (bool, int, float, datetime, text or empty), its distinct values with their counts, how
missing values are written, and a time's format (ISO 8601, an epoch unit or a date pattern; dates
that read both day first and month first raise `AmbiguousDates`). Also how a profile's values are
shown in reasons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

# How a missing value is written in files, besides an empty cell (compared stripped, lowercase):
# the validator's own list, so what init calls missing the schema accepts as missing.
from ct_assets.ml.schema import NULL_TOKENS
from ct_assets.project.infer.base import AmbiguousDates
from ct_assets.project.spec import EPOCH_UNITS

# Epoch ranges of 2001..2096 per unit: an integer time outside them is more likely a count.
EPOCH_RANGES: tuple[tuple[str, float, float], ...] = (
    ("epoch_s", 1e9, 4e9),
    ("epoch_ms", 1e12, 4e12),
    ("epoch_us", 1e15, 4e15),
    ("epoch_ns", 1e18, 4e18),
)
INT64_MAX = 2**63 - 1

TRUE_TEXT = frozenset({"true", "t", "yes", "y"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n"})
_WORD_BOOLS = frozenset({"true", "false", "yes", "no"})
_MAX_BOOL_SPELLINGS = 64
_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_LEADING_ZERO = re.compile(r"^\s*[+-]?0\d")
_FLOAT = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_ISO = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*$"
)
_ZONED = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)\s*$")
# Dates as spreadsheets and exports write them, tried when a column is not ISO 8601. Where a
# sample fits both orders (no day above 12), ct init asks (--dates) rather than guess.
_DATE_SHAPE = re.compile(
    r"^\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)?\s*$"
)
_DATE_FORMATS = tuple(
    f"{day}{clock}"
    for day in ("%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y")
    for clock in ("", " %H:%M", " %H:%M:%S", "T%H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
)
_YYYYMMDD = re.compile(r"^\s*(19|20|21)\d{6}\s*$")

Kind = Literal["empty", "bool", "int", "float", "datetime", "text"]


@dataclass(frozen=True)
class Profile:
    """What the sample shows of one column before any role is known."""

    name: str
    rows: int
    nulls: int
    kind: Kind
    # The distinct non-null values with their counts: text, numbers, or UTC times.
    counts: pd.Series
    # How missing values were written besides an empty cell (e.g. 'NA'), when any.
    null_tokens: tuple[str, ...] = ()
    time_format: str | None = None  # datetime: iso, an epoch unit or a strftime pattern
    zoned: bool = True  # datetime: every time carries its zone (or is typed)
    note: str = ""  # why the kind, in words

    @property
    def distinct(self) -> int:
        return len(self.counts)

    @property
    def present(self) -> int:
        return self.rows - self.nulls

    @property
    def repeats(self) -> bool:
        return 0 < self.distinct < self.present

    @property
    def unique(self) -> bool:
        return self.nulls == 0 and self.distinct == self.rows

    @property
    def null_share(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


# -- profiling one column ----------------------------------------------------------------------


def profile(name: str, values: pd.Series, epoch_allowed: bool, dates: str | None = None) -> Profile:
    """The kind of one column; `epoch_allowed` lets numbers in an epoch range be times."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _typed(name, values, "bool", "typed boolean in the file")
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        times = pd.to_datetime(values, utc=True)
        zoned = isinstance(dtype, pd.DatetimeTZDtype)
        return _typed(name, times, "datetime", "typed timestamp in the file", "iso", zoned)
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        kind: Kind = "int" if pd.api.types.is_integer_dtype(dtype) else "float"
        base = _typed(name, values, kind, f"typed {kind} in the file")
        return _epoch(base, values.dropna(), epoch_allowed) or base
    return _text_profile(name, values, epoch_allowed, dates)


def _typed(
    name: str,
    values: pd.Series,
    kind: Kind,
    note: str,
    time_format: str | None = None,
    zoned: bool = True,
) -> Profile:
    nulls = int(values.isna().sum())
    if nulls == len(values):
        return Profile(name, len(values), nulls, "empty", _counts([]), note="empty in every row")
    counts = values.dropna().value_counts(sort=False)
    return Profile(name, len(values), nulls, kind, counts, (), time_format, zoned, note)


def _counts(values: Iterable[Any]) -> pd.Series:
    return pd.Series(list(values), dtype=object).value_counts(sort=False)


def _text_profile(
    name: str, values: pd.Series, epoch_allowed: bool, dates: str | None = None
) -> Profile:
    rows = len(values)
    absent = int(values.isna().sum())
    present = values.dropna() if absent else values
    # Counted before turning into text: str() of each distinct value, not of every cell.
    counts = present.astype(object).value_counts(sort=False)
    counts.index = pd.Index([str(v) for v in counts.index], dtype=object)
    if counts.index.has_duplicates:  # 1 and '1' in one JSON column
        counts = counts.groupby(level=0).sum()
    uniques = list(counts.index)
    tokens = {u: u.strip().lower() for u in uniques} if len(uniques) <= _MAX_BOOL_SPELLINGS else {}
    lowered = pd.Index(uniques, dtype=object).str.strip().str.lower()
    missing = [u for u, low in zip(uniques, lowered, strict=True) if low in NULL_TOKENS]
    nulls = absent + (int(counts[missing].sum()) if missing else 0)
    seen = [u for u in uniques if u not in set(missing)] if missing else uniques
    written = tuple(sorted({u.strip() for u in missing if u.strip()}))
    if not seen:
        return Profile(name, rows, nulls, "empty", _counts([]), written, note="empty in every row")
    kept = counts.drop(index=missing) if missing else counts
    kind, note, time_format = _text_kind(seen, name, epoch_allowed, dates)
    if kind == "text":
        # A text column reads 'NA' as a value (ct reads only empty cells as missing), so the
        # declaration must see it as one: its nulls are the empty cells alone.
        text_nulls = absent + int(counts.get("", 0))
        kept = counts.drop(index=[""]) if "" in counts.index else counts
        return Profile(name, rows, text_nulls, "text", kept, (), note=note)
    if kind == "datetime":
        iso = time_format == "iso"
        times = pd.to_datetime(
            pd.Series(seen).str.strip(), format="ISO8601" if iso else time_format, utc=True
        )
        zoned = iso and all(_ZONED.search(v) for v in seen)
        by_time = pd.Series(kept.to_numpy(), index=pd.DatetimeIndex(times))
        by_time = by_time.groupby(level=0).sum()
        return Profile(name, rows, nulls, "datetime", by_time, written, time_format, zoned, note)
    if kind == "bool":
        flags = pd.Series([tokens[v] in TRUE_TEXT for v in seen])  # a few words at most
        by_flag = pd.Series(kept.to_numpy(), index=pd.Index(flags)).groupby(level=0).sum()
        return Profile(name, rows, nulls, "bool", by_flag, written, note=note)
    numbers = pd.Series([float(v) if kind == "float" else int(v) for v in seen])
    by_number = pd.Series(kept.to_numpy(), index=pd.Index(numbers)).groupby(level=0).sum()
    base = Profile(name, rows, nulls, kind, by_number, written, note=note)
    return _epoch(base, pd.Series(numbers), epoch_allowed) or base


def _text_kind(
    values: list[str], name: str = "", times_allowed: bool = False, dates: str | None = None
) -> tuple[Kind, str, str | None]:
    """The kind of a text column's values, why, and a datetime's format."""
    # Booleans are a few words in a few spellings (True, TRUE, ' true'); many values are not.
    lowered = {v.strip().lower() for v in values} if len(values) <= _MAX_BOOL_SPELLINGS else set()
    if lowered and _bool_words(lowered):
        return "bool", f"every value is a boolean word ({', '.join(sorted(lowered))})", None
    if times_allowed and all(_YYYYMMDD.match(v) for v in values):
        days = pd.to_datetime(pd.Series(values).str.strip(), format="%Y%m%d", errors="coerce")
        if not days.isna().any() and days.dt.year.between(1900, 2100).all():
            return (
                "datetime",
                "every value is a date written %Y%m%d (a name that says time)",
                ("%Y%m%d"),
            )
    if all(_INT.match(v) for v in values):
        if any(_LEADING_ZERO.match(v) for v in values):
            return "text", "whole numbers with leading zeros (e.g. codes): kept as text", None
        if any(abs(int(v)) > INT64_MAX for v in values):
            return "text", "whole numbers too large for 64 bits (e.g. ids): kept as text", None
        return "int", "every value is a whole number", None
    if all(_FLOAT.match(v) for v in values):
        return "float", "every value is a number", None
    if all(_ISO.match(v) for v in values):
        parsed = pd.to_datetime(pd.Series(values), format="ISO8601", utc=True, errors="coerce")
        if not parsed.isna().any():
            return "datetime", "every value is an ISO 8601 time", "iso"
    if all(_DATE_SHAPE.match(v) for v in values):
        return _date_format(values, name, dates)
    return "text", "text", None


def _date_format(
    values: list[str], name: str = "", dates: str | None = None
) -> tuple[Kind, str, str | None]:
    text = pd.Series(values).str.strip()

    def fits(fmt: str) -> bool:
        return not pd.to_datetime(text, format=fmt, errors="coerce").isna().any()

    # The first format that reads every value; then only its day-month swap is worth a parse.
    chosen = next((f for f in _DATE_FORMATS if fits(f)), None)
    if chosen is None:
        return "text", "text", None
    swapped = chosen.replace("%m", "\0").replace("%d", "%m").replace("\0", "%d")
    if swapped != chosen and swapped in _DATE_FORMATS and fits(swapped):
        # No day above 12: 05/03 is 5 March or 3 May, and a guess would misread every day.
        day_first = chosen if chosen.index("%d") < chosen.index("%m") else swapped
        month_first = swapped if day_first == chosen else chosen
        if dates is None:
            raise AmbiguousDates(name, values[0].strip(), (day_first, month_first))
        chosen = day_first if dates == "day-first" else month_first
        return "datetime", f"every value is a time written {chosen} (--dates {dates})", chosen
    return "datetime", f"every value is a time written {chosen}", chosen


def _bool_words(lowered: set[str]) -> bool:
    """Both a true and a false word, or whole words alone: a lone 'f' may be a category."""
    if not lowered <= TRUE_TEXT | _FALSE_TEXT:
        return False
    return bool(lowered & TRUE_TEXT and lowered & _FALSE_TEXT) or lowered <= _WORD_BOOLS


def _epoch(base: Profile, numbers: pd.Series, allowed: bool) -> Profile | None:
    """Numbers read as times: the name says time and every value is in one epoch range."""
    if not allowed or numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    for fmt, start, end in EPOCH_RANGES:
        unit = EPOCH_UNITS[fmt]
        if start <= low and high < end:
            label = {"s": "seconds", "ms": "milliseconds"}.get(unit, unit)
            times = pd.to_datetime(pd.Series(base.counts.index), unit=unit, utc=True)
            counts = pd.Series(base.counts.to_numpy(), index=pd.DatetimeIndex(times))
            note = (
                f"numbers between {low:.0f} and {high:.0f}, epoch {label} of "
                f"{times.min():%Y-%m-%d} to {times.max():%Y-%m-%d}"
            )
            return Profile(
                base.name,
                base.rows,
                base.nulls,
                "datetime",
                counts.groupby(level=0).sum(),
                base.null_tokens,
                fmt,
                True,
                note,
            )
    return None


# -- a profile's values in words ---------------------------------------------------------------


def examples_of(p: Profile, n: int = 3) -> str:
    shown = [repr(plain(v)) for v in sorted(p.counts.index, key=str)[:n]]
    return ", ".join(shown) if shown else "every value empty"


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value YAML writes."""
    return value.item() if hasattr(value, "item") else value


def shown_value(value: Any) -> str:
    """A value as ct.yaml means it: true, not True; ' >50K' quoted, its space visible."""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    return repr(text) if isinstance(value, str) and (text.strip() != text or not text) else text
