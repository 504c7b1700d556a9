"""A whole project declaration guessed from a sample of the data, with the reason for every guess.

Pure logic: a frame in (text cells as read from CSV or JSON Lines, or typed Parquet columns), a
plain `ct.yaml` mapping out. Nothing here knows a dataset's column names: roles come from name
hints (label, *_id, *_at) and from what the values show (repeats, uniqueness, epoch ranges).
Where a guess cannot be made safely, `CannotInfer` says which flag decides it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

# How a missing value is written in files, besides an empty cell (compared stripped, lowercase):
# the validator's own list, so what init calls missing the schema accepts as missing.
from ct_assets.ingest.dialect import Delivery
from ct_assets.ingest.sniff import Sniffed
from ct_assets.ml import balance
from ct_assets.ml.leakage import (
    either_way_auc,
    linear_correlation,
    rank_correlation,
    value_purity,
)
from ct_assets.ml.schema import NULL_TOKENS
from ct_assets.ml.vocabulary import BINARY, REGRESSION
from ct_assets.project.load import ProjectError
from ct_assets.project.spec import (
    RESERVED_PREFIX,
    Quality,
    Server,
    Threshold,
    Training,
    default_policy,
    did_you_mean,
)

# Text with at most this many values, each seen at least this often on average, is a category.
MAX_CATEGORIES = 50
# A feature that alone gives the label this well in the sample is left out as a likely leak,
# known only once the outcome is: its value gives each class in this share of the class's rows,
# one threshold on it splits the classes with this ROC AUC, or (regression) it moves with the
# label this closely (|Pearson r| or |Spearman rho|). Training's own guard (`ml/leakage.py`)
# flags from 0.999 on the holdout; here, before any data is trusted, a little earlier.
LEAK_SCORE = 0.99
# With fewer rows of either class (regression: twice this many rows) a near-perfect score may be
# luck; above it, a column of noise scores 0.99 with odds well under one in a million.
LEAK_MIN_ROWS = 10
MIN_ROWS_PER_CATEGORY = 2
# Slices are groups a gate can judge: a handful of values, not fifty.
MAX_SLICE_VALUES = 10
MAX_SLICES = 2
MAX_WINDOW_COLUMNS = 2
# Partitions a project's model learns from: ct's own default.
TRAINING_WINDOW = Training().window
WINDOW_AGGREGATIONS = ["count", "mean"]
WINDOWS = ["1d", "7d"]
# A column this often null in the sample gets a per-column null limit above its share (the
# default limit, quality.max_null_share, would refuse the sample itself, or the next day's).
NULL_HEADROOM_FROM = Quality().max_null_share / 2
# Epoch ranges of 2001..2096 per unit: an integer time outside them is more likely a count.
EPOCH_RANGES: tuple[tuple[str, Literal["s", "ms", "us", "ns"], float, float], ...] = (
    ("epoch_s", "s", 1e9, 4e9),
    ("epoch_ms", "ms", 1e12, 4e12),
    ("epoch_us", "us", 1e15, 4e15),
    ("epoch_ns", "ns", 1e18, 4e18),
)
INT64_MAX = 2**63 - 1

LABEL_NAMES = (
    "label",
    "labels",
    "target",
    "y",
    "class",
    "outcome",
    "response",
    "is_fraud",
    "fraud",
    "fraudulent",
    "churn",
    "churned",
    "is_churn",
    "is_default",
    "default",
    "converted",
)
LABEL_WORDS = frozenset({"label", "target"})
TIME_WORDS = frozenset(
    {"time", "timestamp", "ts", "date", "datetime", "created", "updated", "epoch"}
)
ID_WORDS = frozenset({"id", "uuid", "guid"})
# Words naming a subject: whose earlier events window features aggregate.
ENTITY_WORDS = frozenset(
    {
        "customer",
        "user",
        "account",
        "device",
        "entity",
        "client",
        "member",
        "merchant",
        "card",
        "patient",
        "subscriber",
    }
)
# Words naming one event: an id of one row each.
EVENT_WORDS = frozenset(
    {
        "event",
        "row",
        "record",
        "transaction",
        "txn",
        "order",
        "request",
        "message",
        "trace",
        "uuid",
        "guid",
    }
)
# Words naming a quantity that cannot be negative (a count, money, a size, a duration): with
# no negative in the sample, such a column is declared ge: 0. Nothing else is bounded by name.
# English words matched against the words of any name: vocabulary, not a dataset's column names
# (one text, so that the test keeping the examples' column names out of the product still flags
# any of them quoted alone).
_QUANTITY_WORDS = """
    amount amt price cost fee fare salary wage income revenue spend spent paid count qty
    quantity items units age duration seconds minutes hours days length distance weight height
    size bytes views clicks visits
"""
NONNEGATIVE_WORDS = frozenset(_QUANTITY_WORDS.split())
# A first word that makes a name the count of what follows: n_items, num_orders.
COUNT_PREFIXES = frozenset({"n", "nb", "num", "number"})
# Words of quantities that go either way: a name holding one is never bounded by its name.
SIGNED_WORDS = frozenset(
    {
        "delta",
        "diff",
        "difference",
        "change",
        "net",
        "balance",
        "profit",
        "loss",
        "gain",
        "return",
        "offset",
        "error",
        "residual",
    }
)
_TRUE_TEXT = frozenset({"true", "t", "yes", "y"})
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
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")

Kind = Literal["empty", "bool", "int", "float", "datetime", "text"]


class CannotInfer(ProjectError):
    """The sample leaves a choice open: the message names the flag that makes it."""


DATE_ORDERS = ("day-first", "month-first")


class AmbiguousDates(CannotInfer):
    """Dates that read both day first and month first: a question for the user, not a guess."""

    def __init__(self, column: str, example: str, formats: tuple[str, str]) -> None:
        self.column, self.example, self.formats = column, example, formats
        super().__init__(
            f"column {column}: a date such as {example!r} reads as {formats[0]} or "
            f"{formats[1]} (no day above 12 in the sample): pass --dates day-first or "
            "--dates month-first"
        )


@dataclass(frozen=True)
class InitOptions:
    label: str | None = None
    time: str | None = None
    entity: str | None = None
    task: str | None = None
    name: str = "ct"
    dates: str | None = None  # day-first or month-first, where the sample's dates read both


@dataclass(frozen=True)
class Sample:
    """The rows read from a file, and whether they are all of it."""

    frame: pd.DataFrame
    source: str
    total_rows: int | None = None  # None: unknown (reading stopped early)
    truncated: bool = False
    # How the file is written, and why ct thinks so.
    dialect: Sniffed = field(default_factory=Sniffed)

    @property
    def rows(self) -> int:
        return len(self.frame)

    def describe(self) -> str:
        if not self.truncated:
            return f"all {self.rows:,} rows of {self.source}"
        of = f"of {self.total_rows:,}" if self.total_rows is not None else "the file has more"
        return f"the first {self.rows:,} rows of {self.source} ({of}; the rest was not read)"


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


@dataclass(frozen=True)
class Guess:
    """A role's column (None: no such role), and why."""

    column: str | None
    reason: str


@dataclass
class Inference:
    """The declaration, and everything `ct init` says about how it came to it."""

    spec: dict[str, Any]
    sample: str  # what was read, in words
    roles: dict[str, Guess]
    task: Guess  # column: the task type
    positive: Guess | None
    columns: dict[str, str]  # column -> why its type (and checks)
    features: list[str]
    left_out: dict[str, str]  # column -> why it is not a feature
    transforms: str
    windows: str
    slices: list[str]
    slices_reason: str
    review: list[str] = field(default_factory=list)
    # Rows of the sample equal in every column to an earlier one: such data repeats rows.
    repeated_rows: int = 0
    format_reasons: dict[str, str] = field(default_factory=dict)  # dataset.format key -> why
    # Features left out as likely leaks of the label (their reasons are in `left_out`).
    leaks: list[str] = field(default_factory=list)
    # Why quality's positive-rate bounds are written, when they are.
    balance: str = ""

    @property
    def name(self) -> str:
        return str(self.spec["name"])


# -- names -------------------------------------------------------------------------------------


def words(name: str) -> list[str]:
    """'createdAt' -> ['created', 'at']; 'customer-ID' -> ['customer', 'id']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _normalized(name: str) -> str:
    return "_".join(words(name))


def hints_time(name: str) -> bool:
    parts = words(name)
    if TIME_WORDS & set(parts):
        return True
    if len(parts) >= 2 and parts[-1] == "at":  # created_at, shipped_at
        return True
    whole = "".join(parts)
    return whole.endswith(("time", "timestamp", "date"))


def hints_id(name: str) -> bool:
    parts = words(name)
    if ID_WORDS & set(parts):
        return True
    # userid, customerid: an entity word glued to id
    return any(p.endswith("id") and p[:-2] in ENTITY_WORDS for p in parts)


def hints_entity(name: str) -> bool:
    parts = words(name)
    return bool(ENTITY_WORDS & set(parts)) or any(
        p.endswith("id") and p[:-2] in ENTITY_WORDS for p in parts
    )


def id_like(p: Profile) -> bool:
    """Named as an identifier: an id word, or a subject's name alone (customer, device) over
    more values than a kind has (a `device` of ios and android is a kind of device)."""
    if hints_id(p.name):
        return True
    return _normalized(p.name) in ENTITY_WORDS and p.distinct > MAX_SLICE_VALUES


def hints_event(name: str) -> bool:
    parts = words(name)
    return bool(EVENT_WORDS & set(parts)) or _normalized(name) in ("id", "row_id", "rowid")


def hints_nonnegative(name: str) -> str | None:
    """The word of a name that says its values cannot be negative (None: none does)."""
    parts = words(name)
    if SIGNED_WORDS & set(parts):
        return None
    named = [p for p in parts if p in NONNEGATIVE_WORDS]
    if named:
        return named[0]
    return parts[0] if len(parts) >= 2 and parts[0] in COUNT_PREFIXES else None


def hints_flag(name: str) -> bool:
    parts = words(name)
    return len(parts) >= 2 and parts[0] in ("is", "has", "was", "did", "can")


def project_name(text: str) -> str:
    """A folder name made fit for `name` (letters, digits, _ . -, starting alphanumeric)."""
    cleaned = _NAME_CHARS.sub("_", text).lstrip("_.-")
    return cleaned or "ct"


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
        flags = pd.Series([tokens[v] in _TRUE_TEXT for v in seen])  # a few words at most
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
    if not lowered <= _TRUE_TEXT | _FALSE_TEXT:
        return False
    return bool(lowered & _TRUE_TEXT and lowered & _FALSE_TEXT) or lowered <= _WORD_BOOLS


def _epoch(base: Profile, numbers: pd.Series, allowed: bool) -> Profile | None:
    """Numbers read as times: the name says time and every value is in one epoch range."""
    if not allowed or numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    for fmt, unit, start, end in EPOCH_RANGES:
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


# -- roles -------------------------------------------------------------------------------------


def _columns_listed(names: Iterable[str]) -> str:
    return ", ".join(names)


def _require_column(flag: str, name: str, columns: list[str]) -> None:
    if name not in columns:
        raise CannotInfer(
            f"{flag} {name}: no such column; columns: {_columns_listed(columns)}"
            f"{did_you_mean(name, columns)}"
        )


def guess_label(columns: list[str], options: InitOptions) -> Guess:
    if options.label is not None:
        _require_column("--label", options.label, columns)
        return Guess(options.label, "given by --label")
    by_name = {_normalized(c): c for c in columns}
    for usual in LABEL_NAMES:
        if usual in by_name:
            return Guess(by_name[usual], f"named like a label ({usual})")
    worded = [c for c in columns if LABEL_WORDS & set(words(c))]
    if len(worded) == 1:
        return Guess(worded[0], "its name says label or target")
    if worded:
        raise CannotInfer(
            f"cannot tell the label: pass --label COL (candidates: {_columns_listed(worded)})"
        )
    raise CannotInfer(
        f"cannot tell the label: pass --label COL (columns: {_columns_listed(columns)})"
    )


def guess_time(profiles: dict[str, Profile], label: str, options: InitOptions) -> Guess:
    if options.time is not None:
        _require_column("--time", options.time, list(profiles))
        if options.time == label:
            raise CannotInfer(f"--time {options.time}: that is the label")
        found = profiles[options.time]
        if found.kind != "datetime":
            raise CannotInfer(
                f"--time {options.time}: its values are not times ct can read (e.g. "
                f"{_examples(found)}); event times are ISO 8601 text, or epoch seconds or "
                "milliseconds"
            )
        return Guess(options.time, f"given by --time ({found.note})")
    times = [n for n, p in profiles.items() if p.kind == "datetime" and n != label]
    if len(times) == 1:
        return Guess(times[0], f"the only time column ({profiles[times[0]].note})")
    if times:
        raise CannotInfer(
            f"cannot tell the event time: pass --time COL (time columns: {_columns_listed(times)})"
        )
    raise CannotInfer(
        "cannot tell the event time: no column holds times (ISO 8601 text, dates such as "
        "12/31/2026 or 31.12.2026, or epoch seconds or milliseconds in a column named like a "
        "time); ct partitions data by when each row happened: pass --time COL, or add such a "
        f"column to the export (columns: {_columns_listed(profiles)})"
    )


def _examples(p: Profile, n: int = 3) -> str:
    shown = [repr(_plain(v)) for v in sorted(p.counts.index, key=str)[:n]]
    return ", ".join(shown) if shown else "every value empty"


def guess_entity(profiles: dict[str, Profile], taken: set[str], options: InitOptions) -> Guess:
    if options.entity is not None:
        _require_column("--entity", options.entity, list(profiles))
        if options.entity in taken:
            raise CannotInfer(f"--entity {options.entity}: that column already has a role")
        kind = profiles[options.entity].kind
        if kind not in ("int", "text"):
            raise CannotInfer(
                f"--entity {options.entity}: an entity is an id (whole numbers or text); this "
                f"column holds {kind} values"
            )
        return Guess(options.entity, "given by --entity")
    repeating = [
        p
        for n, p in profiles.items()
        if n not in taken and p.kind in ("int", "text") and id_like(p) and p.repeats
    ]
    if not repeating:
        return Guess(
            None, "no id-like column whose values repeat: per-entity window features are off"
        )
    repeating.sort(key=lambda p: not hints_entity(p.name))
    chosen = repeating[0]
    why = "an identifier of a subject" if hints_entity(chosen.name) else "an identifier"
    reason = (
        f"its name reads as {why}, and its values repeat ({chosen.distinct:,} distinct in "
        f"{chosen.present:,} rows): window features aggregate each one's earlier events"
    )
    others = [p.name for p in repeating[1:]]
    if others:
        reason += f"; also id-like and repeating: {_columns_listed(others)}"
    return Guess(chosen.name, reason)


def guess_event_id(profiles: dict[str, Profile], taken: set[str]) -> Guess:
    unique = [
        p
        for n, p in profiles.items()
        if n not in taken
        and p.kind in ("int", "text")
        and p.unique
        and id_like(p)
        and not hints_entity(n)
    ]
    if not unique:
        return Guess(
            None,
            "no id-like column unique in the sample: ct derives a row id from the batch "
            "and row number",
        )
    unique.sort(key=lambda p: not hints_event(p.name))
    chosen = unique[0]
    return Guess(
        chosen.name,
        f"its name reads as an event's id, and its {chosen.rows:,} values are all different: "
        "a batch repeating one is refused",
    )


# -- columns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    value: dict[str, Any]
    reason: str


def _numbers(p: Profile) -> tuple[float, float]:
    index = pd.Index(p.counts.index).astype(float)
    return float(index.min()), float(index.max())


def _number(value: float) -> str:
    return f"{value:g}" if not float(value).is_integer() else f"{int(value)}"


def declare_column(p: Profile, is_label: bool, identifier: bool) -> Declared:
    """The declaration of one non-label column, or the label's base type."""
    value: dict[str, Any] = {}
    if p.kind == "empty":
        return Declared({"type": "string", "nullable": True}, "empty in every row of the sample")
    if p.kind == "bool":
        value, reason = {"type": "bool"}, p.note
    elif p.kind == "datetime":
        value = {"type": "datetime"}
        if p.time_format not in (None, "iso"):
            value["format"] = p.time_format
        reason = p.note
    elif p.kind in ("int", "float"):
        value, reason = _declare_number(p, is_label)
    elif (
        identifier or p.distinct > MAX_CATEGORIES or p.distinct * MIN_ROWS_PER_CATEGORY > p.present
    ):
        value = {"type": "string"}
        reason = f"text with {p.distinct:,} distinct values in {p.present:,} rows" + (
            ": an identifier" if identifier else ""
        )
    else:
        categories = sorted(str(v) for v in p.counts.index)
        # A value the sample did not show is encoded as unknown and counted, not refused: one
        # day's sample rarely shows every value the next days bring.
        value = {"type": "category", "categories": categories, "unseen": "unknown"}
        reason = f"text with {p.distinct} distinct values in {p.present:,} rows"
    if p.nulls:
        value["nullable"] = True
        reason += f"; {p.nulls:,} empty in the sample ({p.null_share:.0%})"
    if p.null_share > NULL_HEADROOM_FROM and not is_label:
        limit = min(1.0, math.ceil((p.null_share + (1 - p.null_share) / 2) * 100) / 100)
        value.setdefault("checks", {})["max_null_share"] = limit
        reason += f"; a batch may be up to {limit:.0%} empty here (the default limit is 50%)"
    return Declared(_in_order(value), reason)


_KEY_ORDER = ("type", "format", "nullable", "categories", "unseen", "checks")


def _in_order(value: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order a reader scans a column: what it is, then what it allows."""
    return {k: value[k] for k in sorted(value, key=_KEY_ORDER.index)}


def _declare_number(p: Profile, is_label: bool) -> tuple[dict[str, Any], str]:
    """A number's type and the only bound a sample supports: ge: 0 where the name or the values
    say the column counts or measures something (a guess, and the reason says so)."""
    low, high = _numbers(p)
    if p.kind == "int" and not is_label and hints_flag(p.name) and set(p.counts.index) <= {0, 1}:
        return {"type": "bool"}, "0/1 in a column named like a flag"
    value: dict[str, Any] = {"type": p.kind}
    reason = f"{p.note}, {_number(low)} to {_number(high)}"
    if is_label:
        # A bound on the label refuses the rows the model most needs to see (a rare negative
        # of a regression target): the label's range is learnt, never checked.
        return value, reason + "; the label: no bounds"
    if low < 0:
        return value, reason + "; negatives occur, so no bounds"
    why = _nonnegative_because(p)
    if why is None:
        return value, (
            reason + "; none negative in the sample, but neither its name nor its values say "
            "it cannot be: no bounds"
        )
    value["checks"] = {"ge": 0}
    return value, reason + f"; ge: 0 guessed: {why}; no upper bound"


def _nonnegative_because(p: Profile) -> str | None:
    """Why a column without negatives in the sample cannot have any (None: nothing says so)."""
    if SIGNED_WORDS & set(words(p.name)):
        return None
    word = hints_nonnegative(p.name)
    if word is not None:
        return f"the name says a count or an amount ({word})"
    if p.kind == "int" or bool((pd.Index(p.counts.index).astype(float) % 1 == 0).all()):
        return "whole numbers, none negative: a count"
    return None


# -- task --------------------------------------------------------------------------------------


def declare_label(p: Profile, options: InitOptions) -> tuple[Declared, Guess, Guess | None]:
    """The label's declaration, the task, and the positive class of a binary task."""
    name = p.name
    if p.nulls:
        raise CannotInfer(
            f"label {name}: {p.nulls:,} rows of the sample have no label; ct needs one on every "
            "row: drop them from the sample, or pass another --label COL"
        )
    if p.kind in ("datetime", "empty"):
        raise CannotInfer(
            f"label {name} holds {'times' if p.kind == 'datetime' else 'nothing'}: pass "
            "--label COL with the column to predict"
        )
    task = options.task or _task_from(p)
    if task == BINARY:
        return _binary_label(p, options)
    if p.kind not in ("int", "float"):
        raise CannotInfer(
            f"--task regression needs a numeric label; {name} holds {p.kind} values such as "
            f"{_examples(p)}"
        )
    value, reason = _declare_number(p, is_label=True)
    why = "given by --task" if options.task else f"the label is numeric with {p.distinct:,} values"
    return Declared(value, reason), Guess(REGRESSION, why), None


def _task_from(p: Profile) -> str:
    if p.distinct == 2:
        return BINARY
    if p.distinct < 2:
        raise CannotInfer(
            f"label {p.name} has one value ({_examples(p)}) in the sample: a binary project "
            "needs both classes in it; pass a sample with both, or --task regression"
        )
    if p.kind in ("int", "float"):
        return REGRESSION
    raise CannotInfer(
        f"label {p.name} has {p.distinct} values ({_examples(p, 6)}...): multiclass is not "
        "supported; ct predicts a binary or a numeric label: pass --label COL with another "
        "column, or make the label two-valued in the data"
    )


def _binary_label(p: Profile, options: InitOptions) -> tuple[Declared, Guess, Guess]:
    if p.distinct != 2:
        raise CannotInfer(
            f"--task binary: label {p.name} has {p.distinct:,} distinct values in the sample "
            f"(e.g. {_examples(p)}); binary needs exactly two"
        )
    why = "given by --task" if options.task else "the label has exactly two values"
    counts = p.counts
    if p.kind == "bool":
        reason = p.note
        return Declared({"type": "bool"}, reason), Guess(BINARY, why), _positive(counts, True)
    if p.kind in ("int", "float"):
        kind = p.kind
        values = sorted(int(v) if kind == "int" else float(v) for v in counts.index)
        declared: dict[str, Any] = {"type": kind, "checks": {"isin": values}}
        reason = f"{p.note}: {_number(values[0])} or {_number(values[1])}"
        return Declared(declared, reason), Guess(BINARY, why), _positive(counts, 1)
    categories = sorted(str(v) for v in counts.index)
    declared = {"type": "category", "categories": categories}
    reason = f"text with two values: {categories[0]!r} or {categories[1]!r}"
    text_counts = pd.Series(counts.to_numpy(), index=[str(v) for v in counts.index])
    return Declared(declared, reason), Guess(BINARY, why), _positive(text_counts, None)


# Text values read as the positive class, as ct itself reads them when task.positive is unset.
USUAL_POSITIVES = ("1", "true", "yes", "y", "positive", "pos")


def _positive(counts: pd.Series, usual: bool | int | None) -> Guess:
    """1 or true (or 'yes', 'positive' as text) when the label holds it; else the minority
    class (ties: the later value)."""
    total = int(counts.sum())
    values = [_plain(v) for v in counts.index]
    share = {v: int(c) / total for v, c in zip(values, counts.to_numpy(), strict=True)}
    for value in values:
        if _is_usual(value, usual):
            return Guess(value, f"{shown_value(value)} is the usual positive ({share[value]:.1%})")
    # min keeps the first of equals: scanning from the end makes a tie go to the later value.
    minority = min(reversed(sorted(values)), key=lambda v: share[v])
    even = len(set(share.values())) == 1
    why = "the classes are even: the later value" if even else "the minority class"
    return Guess(minority, f"{why} ({share[minority]:.1%} of rows)")


def _is_usual(value: Any, usual: bool | int | None) -> bool:
    if usual is not None:
        return bool(value == usual)
    return str(value).strip().lower() in USUAL_POSITIVES


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value YAML writes."""
    return value.item() if hasattr(value, "item") else value


def shown_value(value: Any) -> str:
    """A value as ct.yaml means it: true, not True; ' >50K' quoted, its space visible."""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    return repr(text) if isinstance(value, str) and (text.strip() != text or not text) else text


# -- features ----------------------------------------------------------------------------------


def _free(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`... when a column already has that name."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def choose_features(
    profiles: dict[str, Profile], declared: dict[str, Declared], roles: set[str]
) -> tuple[list[str], dict[str, str]]:
    features: list[str] = []
    left_out: dict[str, str] = {}
    for name, p in profiles.items():
        if name in roles:
            continue
        kind = declared[name].value["type"]
        if p.kind == "empty":
            left_out[name] = "empty in every row of the sample"
        elif id_like(p):
            left_out[name] = (
                "an identifier: its values name rows or subjects, they do not carry over"
            )
        elif kind == "string":
            left_out[name] = (
                f"too many distinct values ({p.distinct:,}) for a category (at most "
                f"{MAX_CATEGORIES}, each in {MIN_ROWS_PER_CATEGORY}+ rows on average); declare it "
                "a category with its categories if it has few values"
            )
        elif kind == "datetime":
            left_out[name] = (
                "a time other than the event time: a model reads times through transforms "
                "(hour, day_of_week); add them if it matters"
            )
        elif p.distinct < 2:
            left_out[name] = (
                f"one value ({_examples(p, 1)}) in every row of the sample: nothing to learn; "
                "add it to features.columns if it varies later"
            )
        else:
            features.append(name)
    return features, left_out


def copies_of(frame: pd.DataFrame, label: str, features: list[str]) -> list[str]:
    """Features whose values are the label's, as written, in every row of the sample."""
    text = frame[label].astype(str)
    return [f for f in features if frame[f].astype(str).equals(text)]


def leaks_of(
    frame: pd.DataFrame,
    profiles: dict[str, Profile],
    label: str,
    positive: Guess | None,
    features: list[str],
) -> dict[str, str]:
    """Features that alone (nearly) give the label in the sample, with why: a second label
    (named like one, or the label written another way), a value that decides the class, a
    threshold that splits the classes, or (regression) a rescaling of the label. Each is likely
    known only once the outcome is; the reason says how to keep it if it is not."""
    keep = "add it back to features.columns only if it is known before the outcome"
    found = {}
    if positive is not None:
        hits = _label_hits(frame[label], profiles[label], positive.column)
        values = [_plain(x) for x in profiles[label].counts.index]
        negative = next((v for v in values if v != positive.column), None)
        for name in features:
            why = _binary_leak(frame[name], profiles[name], hits, label, positive.column, negative)
            if why is not None:
                found[name] = f"{why}; {keep}"
    else:
        target = pd.to_numeric(frame[label], errors="coerce")
        for name in features:
            why = _regression_leak(frame[name], profiles[name], target, label)
            if why is not None:
                found[name] = f"{why}; {keep}"
    for name in features:
        if name not in found and _named_like_a_label(name):
            found[name] = (
                f"named like a label, beside the label {label}: another outcome, known only "
                f"once it is; {keep}"
            )
    return found


def _named_like_a_label(name: str) -> bool:
    # A whole name only: a target_price or a label_color is a feature like any other.
    return _normalized(name) in LABEL_NAMES


def _label_hits(values: pd.Series, p: Profile, positive: Any) -> np.ndarray:
    """1 where a binary label holds its positive value, as the profile read the column."""
    if p.kind == "bool":
        text = values.astype(str).str.strip().str.lower()
        hits = text.isin(_TRUE_TEXT | {"true"}) == bool(positive)
    elif p.kind in ("int", "float"):
        hits = pd.to_numeric(values, errors="coerce") == float(positive)
    else:
        hits = values.astype(str) == str(positive)
    return hits.to_numpy(dtype=np.int64)


def _binary_leak(
    values: pd.Series, p: Profile, hits: np.ndarray, label: str, positive: Any, negative: Any
) -> str | None:
    few = min(int(hits.sum()), int(len(hits) - hits.sum()))
    if few < LEAK_MIN_ROWS:
        return None
    if p.distinct <= MAX_CATEGORIES:
        # Missing is a value too: a column empty exactly where the label is 0 gives it away.
        text = values.astype(object).where(values.notna(), "").astype(str)
        purity = value_purity(text, hits)
        if purity >= LEAK_SCORE and p.distinct == 2:
            written = _recoding(text, hits, positive, negative)
            return (
                f"the label {label} written another way ({written}) in {purity:.1%} of the rows "
                "of each class: a second label, known only once the outcome is (it would leak it)"
            )
        if purity >= LEAK_SCORE:
            return (
                f"its value gives the label {label} in {purity:.1%} of the rows of each class "
                "(each row judged by the other rows holding its value): it nearly decides the "
                "answer, so it is likely known only once the outcome is (a leak)"
            )
    if p.kind not in ("int", "float"):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    known = numbers.notna().to_numpy()
    y = hits[known]
    if min(int(y.sum()), int(len(y) - y.sum())) < LEAK_MIN_ROWS:
        return None
    auc = either_way_auc(numbers[known].to_numpy(dtype=float), y)
    if auc < LEAK_SCORE:
        return None
    return (
        f"one threshold on it splits the classes of the label {label} with ROC AUC {auc:.3f} "
        f"(a leak from {LEAK_SCORE:g}): it nearly decides the answer, so it is likely known only "
        "once the outcome is"
    )


def _recoding(text: pd.Series, hits: np.ndarray, positive: Any, negative: Any) -> str:
    """How a two-valued column writes the label: "'yes' where it is 1, 'no' where it is 0"."""
    share = pd.Series(hits).groupby(text.to_numpy()).mean()
    parts = [
        f"{value!r} where it is {shown_value(positive if rate >= 0.5 else negative)}"
        for value, rate in share.sort_values(ascending=False).items()
    ]
    return ", ".join(parts)


def _regression_leak(values: pd.Series, p: Profile, target: pd.Series, label: str) -> str | None:
    if p.kind not in ("int", "float"):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    known = (numbers.notna() & target.notna()).to_numpy()
    if known.sum() < 2 * LEAK_MIN_ROWS:
        return None
    x, y = numbers[known].to_numpy(dtype=float), target[known].to_numpy(dtype=float)
    linear, ranks = linear_correlation(x, y), rank_correlation(x, y)
    if max(linear or 0.0, ranks or 0.0) < LEAK_SCORE:
        return None
    return (
        f"it moves with the label {label} (|Pearson r| {linear or 0:.3f}, |Spearman rho| "
        f"{ranks or 0:.3f}; a leak from {LEAK_SCORE:g}): a rescaling of the answer, likely known "
        "only once the outcome is"
    )


def time_transforms(time: Profile, taken: set[str]) -> tuple[list[dict[str, Any]], str]:
    """The hour of the event time, where the sample's times have one.

    No day of week: ct writes daily partitions and a training window of `TRAINING_WINDOW`, in
    which a day of week is constant within each partition and each value is seen once, so it
    names the day a row is from rather than a weekly pattern; ct's leak guard would leave it out
    of training anyway (it needs three weeks of partitions in the window to be learnt).
    """
    times = pd.DatetimeIndex(time.counts.index)
    transforms: list[dict[str, Any]] = []
    midnight = bool(((times.hour == 0) & (times.minute == 0) & (times.second == 0)).all())
    if not midnight:
        name = _free(f"{time.name}_hour", taken)
        transforms.append({"name": name, "op": "hour", "column": time.name})
        reason = f"hour of the event time {time.name}"
    else:
        reason = f"none: every event time in {time.name} is at midnight (a date alone)"
    return transforms, reason + f"; {NO_DAY_OF_WEEK}"


# Why ct init never proposes a day of week (the review says it too).
NO_DAY_OF_WEEK = (
    "no day of week: with daily partitions it is constant within a partition and each value is "
    f"seen once in a {TRAINING_WINDOW}-partition window, so it would name the day a row is "
    "from, not a weekly pattern (a model learns 'this weekday follows these rules', the "
    "holdout agrees, tomorrow does not); add one only with a training.window of 21 or more"
)


def window_groups(
    entity: str | None,
    features: list[str],
    declared: dict[str, Declared],
    profiles: dict[str, Profile],
    taken: set[str],
) -> tuple[list[dict[str, Any]], str]:
    if entity is None:
        return [], "no entity column: per-entity window features are off"
    numeric = [f for f in features if declared[f].value["type"] in ("int", "float")]
    # Amounts (floats with many values) say more about a history than small counts do.
    numeric.sort(key=lambda f: (declared[f].value["type"] != "float", -profiles[f].distinct))
    chosen: list[str] = []
    for column in numeric:
        names = {f"{column}_{a}_{w}" for a in WINDOW_AGGREGATIONS for w in WINDOWS}
        if names & taken or len(chosen) == MAX_WINDOW_COLUMNS:
            continue
        taken |= names
        chosen.append(column)
    if not chosen:
        return [], f"entity {entity}, but no numeric feature to aggregate: no window features"
    groups = [
        {"column": c, "aggregations": list(WINDOW_AGGREGATIONS), "windows": list(WINDOWS)}
        for c in chosen
    ]
    reason = (
        f"per {entity}: {' and '.join(WINDOW_AGGREGATIONS)} of {', '.join(chosen)} over its "
        f"earlier events in the last {' and '.join(WINDOWS)} (numeric features with the most "
        "values, floats first)"
    )
    return groups, reason


def choose_slices(
    features: list[str], declared: dict[str, Declared], profiles: dict[str, Profile]
) -> tuple[list[str], str]:
    fit = [
        f
        for f in features
        if declared[f].value["type"] in ("category", "bool")
        and 2 <= profiles[f].distinct <= MAX_SLICE_VALUES
    ]
    fit.sort(key=lambda f: (declared[f].value["type"] != "category", profiles[f].distinct))
    chosen = fit[:MAX_SLICES]
    if not chosen:
        return (
            [],
            f"no category or bool feature with 2 to {MAX_SLICE_VALUES} values: no slice gates",
        )
    shown = ", ".join(f"{f} ({profiles[f].distinct} values)" for f in chosen)
    return chosen, (
        f"category or bool features with few values, categories first: {shown}; a candidate "
        "that loses too much on one group is not promoted"
    )


# -- the whole project -------------------------------------------------------------------------


def _checked_names(frame: pd.DataFrame) -> list[str]:
    names = [str(c) for c in frame.columns]
    if not names:
        raise CannotInfer("the sample has no columns")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CannotInfer(f"the header names {', '.join(twice)} more than once: rename them")
    if any(not n.strip() for n in names):
        place = next(i for i, n in enumerate(names) if not n.strip()) + 1
        raise CannotInfer(f"column {place} has no name in the header: name it")
    reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
    if reserved:
        raise CannotInfer(
            f"column names starting with {RESERVED_PREFIX!r} are ct's own: rename "
            f"{', '.join(reserved)} in the data"
        )
    if frame.empty:
        raise CannotInfer("the sample has no rows: ct init infers from rows")
    return names


def infer_project(sample: Sample, options: InitOptions) -> Inference:
    """The declaration `ct init` writes for this sample, with the reason for each guess."""
    frame = sample.frame.rename(columns=str)
    columns = _checked_names(frame)
    label = guess_label(columns, options)
    assert label.column is not None
    profiles = {
        n: profile(
            n,
            frame[n],
            n != label.column and (hints_time(n) or n == options.time),
            options.dates,
        )
        for n in columns
    }
    time = guess_time(profiles, label.column, options)
    assert time.column is not None
    label_declared, task, positive = declare_label(profiles[label.column], options)
    declared = {
        n: declare_column(p, is_label=False, identifier=id_like(p))
        for n, p in profiles.items()
        if n != label.column
    }
    declared[label.column] = label_declared
    taken = {label.column, time.column}
    entity = guess_entity(profiles, taken, options)
    if entity.column is not None:
        taken.add(entity.column)
        declared[entity.column] = _as_id(declared[entity.column], profiles[entity.column])
    event_id = guess_event_id(profiles, taken)
    if event_id.column is not None:
        taken.add(event_id.column)
    roles = {"label": label, "event_time": time, "entity": entity, "event_id": event_id}
    features, left_out = choose_features(profiles, declared, taken)
    for name in copies_of(frame, label.column, features):
        features.remove(name)
        left_out[name] = (
            f"equal to the label {label.column} in every row of the sample: a copy of the "
            "answer, known only after the outcome (it would leak it)"
        )
    leaks = leaks_of(frame, profiles, label.column, positive, features)
    for name, reason in leaks.items():
        features.remove(name)
        left_out[name] = reason
    names = set(columns)
    transforms, transforms_reason = time_transforms(profiles[time.column], names)
    groups, windows_reason = window_groups(entity.column, features, declared, profiles, names)
    slices, slices_reason = choose_slices(features, declared, profiles)
    spec = _spec(options, roles, task, positive, declared, columns)
    if sample.dialect.reasons:
        spec["dataset"] = {"format": format_section(sample.dialect), **spec["dataset"]}
    spec["features"] = {"columns": features, "transforms": transforms}
    if groups:
        spec["features"]["windows"] = {"inclusive": False, "aggregates": groups}
    spec.update(_sections(task.column, profiles[time.column], slices))
    bounds, balance_reason = _label_balance(profiles[label.column], positive, profiles[time.column])
    quality: dict[str, Any] = dict(bounds)
    try:
        repeated = int(frame.duplicated().sum())
    except TypeError:  # nested values (lists in Parquet or JSON) cannot be compared as rows
        repeated = 0
    if repeated:
        # Few categorical columns and date-only times repeat rows legitimately; refusing them
        # would set aside the sample's own rows.
        quality["duplicate_rows"] = "keep"
    # Written whole (ct's defaults where the sample says nothing), so that the rules deciding
    # which rows and files are refused are in the file the user reviews.
    spec["quality"] = _quality_section(quality, binary=task.column == BINARY)
    spec["serving"] = _serving_section()
    spec = {k: spec[k] for k in _ORDER if k in spec}
    inference = Inference(
        spec=spec,
        sample=sample.describe(),
        roles=roles,
        task=task,
        positive=positive,
        columns={n: declared[n].reason for n in columns},
        features=features,
        left_out=left_out,
        transforms=transforms_reason,
        windows=windows_reason,
        slices=slices,
        slices_reason=slices_reason,
        repeated_rows=repeated,
        format_reasons=dict(sample.dialect.reasons),
        leaks=list(leaks),
        balance=balance_reason,
    )
    inference.review = review_notes(inference, sample, profiles, declared)
    inference.review.extend(sample.dialect.review)
    return inference


# Always written for a text sample, so the dialect in force is visible; the rest when not ct's
# default.
_FORMAT_SHOWN = ("delimiter", "decimal", "encoding")


def format_section(dialect: Sniffed) -> dict[str, Any]:
    """`dataset.format` as `ct init` writes it: what was found, ct's defaults left out."""
    found = dialect.delivery.model_dump()
    default = Delivery().model_dump()
    return {
        k: v
        for k, v in found.items()
        if (k in _FORMAT_SHOWN and k in dialect.reasons) or v != default[k]
    }


_ORDER = (
    "name",
    "task",
    "dataset",
    "features",
    "partitions",
    "training",
    "gates",
    "quality",
    "drift",
    "freshness",
    "policy",
    "serving",
    "sources",
)

# The quality keys that decide what is refused or set aside, and the serving keys that decide
# who answers a request: written by `ct init` with the models' own defaults.
_QUALITY_SHOWN = ("max_bad_row_share", "max_null_share", "duplicate_rows")
_BALANCE = ("min_positive_rate", "max_positive_rate")
_SERVING_SHOWN = (
    "host",
    "port",
    "max_batch_rows",
    "latency_budget_ms",
    "canary_fraction",
    "shadow",
)


def _quality_section(inferred: dict[str, Any], binary: bool) -> dict[str, Any]:
    defaults = Quality().model_dump()
    keys = _QUALITY_SHOWN + (_BALANCE if binary else ())
    section = {k: inferred.get(k, defaults[k]) for k in keys}
    return section | {k: v for k, v in inferred.items() if k not in section}


def _serving_section() -> dict[str, Any]:
    defaults = Server().model_dump()
    return {k: defaults[k] for k in _SERVING_SHOWN}


def _as_id(declared: Declared, p: Profile) -> Declared:
    """An entity is an id: a category of today's customers would refuse tomorrow's."""
    if declared.value["type"] in ("int", "string"):
        return declared
    value: dict[str, Any] = {"type": "int" if p.kind == "int" else "string"}
    if p.nulls:
        value["nullable"] = True
    return Declared(value, f"{declared.reason}; declared as an id")


def _spec(
    options: InitOptions,
    roles: dict[str, Guess],
    task: Guess,
    positive: Guess | None,
    declared: dict[str, Declared],
    columns: list[str],
) -> dict[str, Any]:
    task_section: dict[str, Any] = {"type": task.column}
    if positive is not None:
        task_section["positive"] = positive.column
    task_section["metric"] = "roc_auc" if task.column == BINARY else "rmse"
    return {
        "name": project_name(options.name),
        "task": task_section,
        "dataset": {
            "roles": {r: g.column for r, g in roles.items() if g.column is not None},
            "columns": {n: declared[n].value for n in columns},
        },
    }


def _sections(task: str | None, time: Profile, slices: list[str]) -> dict[str, Any]:
    start = pd.DatetimeIndex(time.counts.index).min()
    binary = task == BINARY
    slice_section: dict[str, Any] = {
        "columns": list(slices),
        "min_rows": 100,
        "tolerance": 0.05 if binary else "10%",
    }
    return {
        "partitions": {"granularity": "daily", "start": f"{start:%Y-%m-%d}"},
        "training": {
            "window": TRAINING_WINDOW,
            "holdout_fraction": 0.2,
            "split": "time",
            "families": list(Training().families),
            "windows": list(Training(window=TRAINING_WINDOW).candidate_windows),
        },
        "gates": {
            "floors": ["roc_auc >= 0.6"] if binary else ["r2 >= 0"],
            "margin": 0.01 if binary else "1%",
            "slices": slice_section,
        },
        "drift": {"threshold": 0.5},
        "freshness": {
            "sources": {"warn": "26h", "fail": "36h"},
            "model": {"warn": "26h", "fail": "48h"},
        },
        "policy": policy_section(task or BINARY),
        "sources": {"landing": "landing"},
    }


def _threshold(value: Threshold) -> float | str:
    return value.text() if value.relative else value.value


def policy_section(task: str) -> dict[str, Any]:
    """The policy in force for the task, as ct.yaml writes it: nothing that decides a retrain,
    a promotion's fate or a rollback is left unwritten."""
    policy = default_policy(task)
    retrain, rollback = policy.retrain, policy.rollback
    return {
        "retrain": {
            "triggers": list(retrain.triggers),
            "performance_margin": _threshold(retrain.performance_margin),
        },
        "evaluation_gap": _threshold(policy.evaluation_gap),
        "label_shift": policy.label_shift,
        "rollback": {
            "enabled": rollback.enabled,
            "margin": _threshold(rollback.margin),
            "on_evaluation_gap": rollback.on_evaluation_gap,
            "min_partitions": rollback.min_partitions,
            "baking": {"partitions": rollback.baking.partitions},
        },
    }


def _label_balance(
    label: Profile, positive: Guess | None, time: Profile
) -> tuple[dict[str, float], str]:
    """Positive-rate bounds with room on both sides of the sample's share, when the defaults
    (label_balance blocks by default) are too near it, and what they mean for a day."""
    if positive is None:
        return {}, ""
    counts = {_plain(v): int(c) for v, c in zip(label.counts.index, label.counts, strict=True)}
    rows = sum(counts.values())
    share = counts.get(positive.column, 0) / max(1, rows)
    defaults = Quality()
    bounds: dict[str, float] = {}
    if share < 2 * defaults.min_positive_rate:
        bounds["min_positive_rate"] = math.floor(share / 2 * 10_000) / 10_000
    if share > 1 - 2 * (1 - defaults.max_positive_rate):
        bounds["max_positive_rate"] = math.ceil((1 - (1 - share) / 2) * 10_000) / 10_000
    if not bounds:
        return {}, ""
    others = [v for v in counts if v != positive.column]
    days = max(1, pd.DatetimeIndex(time.counts.index).normalize().nunique())
    reason = (
        f"The sample's share of {shown_value(positive.column)} is "
        f"{balance.percent(share)} ({counts.get(positive.column, 0):,} of {rows:,} rows), near "
        f"ct's default bounds ({balance.percent(defaults.min_positive_rate)} to "
        f"{balance.percent(defaults.max_positive_rate)}): set to half the distance to 0 or 1. "
        "A batch is judged by its count at these rates, refused only when a count as far out "
        f"has under a {balance.percent(balance.IMPLAUSIBLE)} chance"
    )
    for key, value, missing in (
        ("min_positive_rate", bounds.get("min_positive_rate"), positive.column),
        ("max_positive_rate", bounds.get("max_positive_rate"), others[0] if others else None),
    ):
        if value is None or missing is None:
            continue
        rate = value if key == "min_positive_rate" else 1 - value
        refused = balance.rows_to_refuse_none(rate)
        if refused is not None:
            reason += (
                f"; a batch with no {shown_value(missing)} goes on up to {refused - 1:,} rows "
                f"and is refused from {refused:,} (the sample's days hold about "
                f"{rows / days:,.0f} rows)"
            )
    return bounds, reason + "."


# -- what to review ----------------------------------------------------------------------------


def review_notes(
    inference: Inference,
    sample: Sample,
    profiles: dict[str, Profile],
    declared: dict[str, Declared],
) -> list[str]:
    notes: list[str] = []
    roles = inference.roles
    if sample.truncated:
        notes.append(
            f"only {sample.describe()} were read: values, categories and ranges the rest "
            "holds are not in this file"
        )
    label = roles["label"]
    if label.reason != "given by --label":
        notes.append(
            f"the label {label.column} was guessed from its name: pass --label COL if another "
            "column is the one to predict"
        )
    positive = inference.positive
    if positive is not None and "usual" not in positive.reason:
        notes.append(
            f"task.positive is {shown_value(positive.column)} ({positive.reason}): set it to the "
            "value that means 'yes'"
        )
    label_profile = profiles[str(label.column)]
    if inference.task.column == REGRESSION and label_profile.distinct <= MAX_SLICE_VALUES:
        notes.append(
            f"the label {label.column} has only {label_profile.distinct} values: if they are "
            "classes, ct predicts a binary or a numeric label, not a class among several"
        )
    notes.extend(_time_notes(profiles[str(roles["event_time"].column)]))
    notes.append(
        "no day of week of the event time is proposed: in a window of daily partitions it names "
        "the day a row is from rather than a weekly pattern (the comment on features.transforms "
        "says more)"
    )
    entity = roles["entity"]
    if entity.column is not None and "also id-like" in entity.reason:
        notes.append(f"the entity is {entity.column}: pass --entity COL to pick another")
    taken = {str(g.column) for g in roles.values() if g.column is not None}
    notes.extend(_column_notes(profiles, declared, inference.features, taken))
    notes.extend(_guessed_bounds(declared, str(label.column)))
    if inference.leaks:
        notes.append(
            f"{', '.join(inference.leaks)} left out as likely leaks of the label {label.column} "
            "(each column's comment says why): one that is known before the outcome can go back "
            "into features.columns"
        )
    if inference.repeated_rows:
        notes.append(
            f"the sample holds {inference.repeated_rows:,} rows equal in every column to an "
            "earlier one, so quality.duplicate_rows is keep (ct would set repeated rows aside, "
            "and refuse a file with too many); set it to refuse if a repeated row means a "
            "broken export"
        )
    return notes


def _guessed_bounds(declared: dict[str, Declared], label: str) -> list[str]:
    guessed = [
        n
        for n, d in declared.items()
        if n != label and d.value.get("checks", {}).get("ge") is not None
    ]
    if not guessed:
        return []
    share = Quality().max_bad_row_share
    return [
        f"ge: 0 was guessed for {', '.join(guessed)} (names or whole numbers that say a count or "
        f"an amount; each column's comment says which): a row breaking it is set aside, and a "
        f"file where more than {share:.0%} of rows break rules is refused; remove a bound the "
        "data may break"
    ]


def _time_notes(time: Profile) -> list[str]:
    notes = []
    times = pd.DatetimeIndex(time.counts.index)
    if not time.zoned:
        notes.append(
            f"event times in {time.name} carry no zone: they are read as UTC; set "
            f"dataset.columns.{time.name}.timezone if they are local times"
        )
    if time.nulls:
        notes.append(f"{time.nulls:,} rows have no event time in {time.name}")
    if times.max() > pd.Timestamp.now(tz="UTC"):
        notes.append(
            f"some event times are in the future (latest {times.max():%Y-%m-%d %H:%M} UTC): ct "
            "refuses events later than now"
        )
    days = times.normalize().nunique()
    if days < 7:
        notes.append(
            f"the sample spans {days} day(s): ct trains on the last training.window (7) daily "
            "partitions and holds out the latest rows; it needs a few days of files"
        )
    return notes


def _column_notes(
    profiles: dict[str, Profile],
    declared: dict[str, Declared],
    features: list[str],
    roles: set[str],
) -> list[str]:
    notes = []
    for name, p in profiles.items():
        if name in roles or not (id_like(p) and hints_entity(name)):
            continue
        how = "unique in the sample" if p.unique else "not a role"
        notes.append(
            f"{name} names a subject but is {how}: pass --entity {name} if window features "
            "should aggregate each one's history"
        )
    categories = [n for n in features if declared[n].value["type"] == "category"]
    if categories:
        notes.append(
            f"categories ({', '.join(categories)}) are the values the sample shows; a new value "
            "is encoded as unknown and counted (unseen: unknown); set unseen: refuse to refuse it"
        )
    return notes
