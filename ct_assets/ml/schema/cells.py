"""Typing the cells of delivered text as declared, where pandera's coercion reads them wrongly
or not at all: tokens that mean "no value", booleans written as text, numbers written with a
decimal comma or digit groups, and times in their declared format and zone.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ingest.dialect import number_text, other_writing
from ct_assets.ml.schema.findings import Finding
from ct_assets.project.spec import EPOCH_UNITS, Column, ProjectSpec

# Text columns are Arrow-backed strings: pandera checks their dtype at once instead of testing
# every value with isinstance (which took 2 s of 3 on a million rows), and Parquet reads them
# without building a Python object per cell.
TEXT = pd.StringDtype("pyarrow")


TIME = pd.DatetimeTZDtype("ns", "UTC")


# Cells that mean "no value" when a number, a flag or a time is expected. Text columns keep them
# as written: there "NA" may be a country code.
NULL_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nil", "<na>", "#n/a"})


_NULL_SPELLINGS = frozenset(
    form for token in NULL_TOKENS for form in (token, token.upper(), token.capitalize())
)


TRUE_WORDS = {"true", "t", "yes", "y", "1", "1.0"}


FALSE_WORDS = {"false", "f", "no", "n", "0", "0.0"}


# The end of an ISO time that carries its own offset: a time of day ("T13", "13:05",
# "130500.25"), then "Z" or an offset in hours ("+01", "-0530", "+05:30"). A date alone
# ("2026-03-01") has none. pandas reads no other spelling of an offset in ISO text.
_ISO_OFFSET = r"[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"


# A strftime format that reads an offset or a zone name.
_STRFTIME_OFFSET = re.compile(r"%[zZ]")


def _written_with_offset(text: pd.Series) -> np.ndarray:
    """Which ISO times end in their own offset ("Z", "+05:30", "-0800", "+01") after a time
    of day. Arrow's regex kernel, not a Python call per cell."""
    found = text.astype(TEXT).str.contains(_ISO_OFFSET, regex=True)
    return found.fillna(False).to_numpy(dtype=bool)


def _localize(wall: pd.Series, zone: str) -> pd.Series:
    """Wall-clock times read as local times in `zone`, as UTC instants.

    Read as the serving path reads them (`datetime.replace(tzinfo=ZoneInfo(zone))`, fold=0), so
    that a time means the same instant in training and in serving, and no time of a DST change
    refuses a batch: an ambiguous time (the hour repeated when clocks go back) is its first
    occurrence, and a time that does not exist (the hour skipped when clocks go forward) is
    read with the offset in force before the gap, i.e. moved forward by the gap: 02:30 in
    Berlin on the last Sunday of March is 03:30 CEST (01:30 UTC).
    """
    first = np.ones(len(wall), dtype=bool)
    times = wall.dt.tz_localize(zone, ambiguous=first, nonexistent="NaT")
    skipped = (times.isna() & wall.notna()).to_numpy()
    if not skipped.any():
        return times.dt.tz_convert("UTC")
    gap = wall[skipped]
    # The last instant before the gap carries the offset in force before it.
    before = gap.dt.tz_localize(zone, ambiguous=first[: len(gap)], nonexistent="shift_backward")
    offset = before.dt.tz_localize(None) - before.dt.tz_convert("UTC").dt.tz_localize(None)
    return _patched(times.dt.tz_convert("UTC"), skipped, (gap - offset).dt.tz_localize("UTC"))


def _patched(times: pd.Series, where: np.ndarray, values: pd.Series) -> pd.Series:
    """UTC `times` with the positions `where` replaced by `values`, in order."""
    out = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").copy()
    out[where] = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return pd.Series(out, index=times.index, name=times.name).dt.tz_localize("UTC")


def parse_times(values: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    """Times of a datetime column in UTC, and which non-null values could not be read.

    A time written with its own offset ("Z", "+01:00", or %z in a strftime format) keeps it; one
    written without (ISO text without an offset, a strftime format without %z, timestamps typed
    without a zone) is a local time in the column's declared timezone; epoch numbers are
    absolute. A column may mix both: each value is read by what it carries.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(TIME), np.zeros(len(values), dtype=bool)
    fmt = column.format or "iso"
    if fmt in EPOCH_UNITS:
        numbers = pd.to_numeric(values, errors="coerce")
        times = pd.to_datetime(numbers, unit=EPOCH_UNITS[fmt], utc=True, errors="coerce")  # type: ignore[call-overload]
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        times = _localize(values, column.timezone)
    else:
        text = values.astype(object).where(values.notna(), None)
        kwargs: dict[str, Any] = {"format": "ISO8601" if fmt == "iso" else fmt}
        # utc=True reads every value, offset or not: offsets are applied, and a value without
        # one comes back with its wall clock unchanged, to be read in the declared zone below.
        times = pd.to_datetime(text, errors="coerce", utc=True, **kwargs)
        if column.timezone != "UTC" and not (fmt != "iso" and _STRFTIME_OFFSET.search(fmt)):
            naive = ~_written_with_offset(values) if fmt == "iso" else None
            if naive is None or naive.all():
                times = _localize(times.dt.tz_localize(None), column.timezone)
            elif naive.any():
                local = _localize(times[naive].dt.tz_localize(None), column.timezone)
                times = _patched(times, naive, local)
    bad = (times.isna() & values.notna()).to_numpy()
    return times.dt.tz_convert("UTC").astype(TIME), bad


def _as_bools(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values, np.zeros(len(values), dtype=bool)
    # Arrow's string kernels, not a Python call per cell: a million flags take 60 ms, not 1 s.
    text = values.astype("string[pyarrow]").str.strip().str.lower()
    true = text.isin(TRUE_WORDS).to_numpy(dtype=bool)
    false = text.isin(FALSE_WORDS).to_numpy(dtype=bool)
    unread = ~(true | false)
    bad = unread & values.notna().to_numpy()
    return pd.Series(pd.arrays.BooleanArray(true, unread), index=values.index), bad


def _typing_finding(name: str, values: pd.Series, bad: np.ndarray, kind: str) -> Finding:
    rows = np.flatnonzero(bad)
    shown = [str(v) for v in values.iloc[rows].tolist()]
    return Finding(name, "wrong_type", f"expected {kind}", rows, shown)


def prepare(frame: pd.DataFrame, spec: ProjectSpec) -> tuple[pd.DataFrame, list[Finding]]:
    """Read what pandera's coercion reads wrongly or not at all: booleans written as text
    ('false' is a non-empty string, so truthy), times in their declared format (ISO, epoch or
    a strftime pattern; pandera's coercion guesses one) and zone. Values that cannot be read are
    named here, as wrong_type."""
    failures = []
    delivery = spec.dataset.format
    for name, column in spec.dataset.columns.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        if column.type in ("int", "float") and values.dtype == object:
            if delivery.plain_numbers:
                continue  # the schema's coercion reads them, and names what it cannot
            # Decimal commas and digit groups rewritten as Python reads numbers; any other
            # writing refused here (1.234 under a decimal comma is not 1.234), saying which
            # declaration the values fit when they fit another.
            typed, bad = number_text(values, delivery)
            if bad.any():
                declared = "" if delivery.plain_numbers else f" ({delivery.numbers_described()})"
                kind = column.type + declared + other_writing(values[bad], delivery)
                failures.append(_typing_finding(name, values, bad, kind))
            frame[name] = typed
            continue
        if column.type == "bool":
            typed, bad = _as_bools(values)
        elif column.type == "datetime" and not (
            isinstance(values.dtype, pd.DatetimeTZDtype)
            and (column.format or "iso") == "iso"
            and column.timezone == "UTC"
        ):
            # Times Arrow already read as ISO in UTC (or typed Parquet) are the fast path. Any
            # other text is read exactly as declared: pandera's coercion would guess a format
            # (05/03/2026 read as 3 May under an ISO declaration) where ct refuses.
            typed, bad = parse_times(values, column)
        else:
            continue
        if bad.any():
            kind = (
                "true or false" if column.type == "bool" else f"a time ({column.format or 'iso'})"
            )
            failures.append(_typing_finding(name, values, bad, kind))
        frame[name] = typed
    return frame, failures


def missing_cells(values: pd.Series, spec: ProjectSpec, name: str) -> pd.Series:
    declared = spec.dataset.format.nulls
    if declared is not None:
        # The declared spellings in every column, exactly as written (a surrounding space too).
        tokens = {"", *declared}
        return values.mask(values.isin(tokens) | values.str.strip().isin(tokens))
    column = spec.dataset.columns.get(name)
    if column is None or column.type in ("string", "category"):
        return values.replace("", np.nan)
    return values.mask(values.isin(_NULL_SPELLINGS))


def event_times_of(frame: pd.DataFrame, spec: ProjectSpec) -> pd.Series:
    """Each delivered row's event time in UTC, NaT where it cannot be read (or is not there)."""
    name = spec.dataset.time
    if name not in frame.columns:
        return pd.Series(pd.NaT, index=pd.RangeIndex(len(frame)), dtype=TIME)
    times, _ = parse_times(frame[name], spec.column(name))
    return times.reset_index(drop=True)
