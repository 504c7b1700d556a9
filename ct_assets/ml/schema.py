"""The schema every batch must satisfy, built from the declared dataset, and why a batch is
refused.

The pandera `DataFrameSchema` is derived from `dataset.columns` (types, nullability, checks) and
the task (a binary label holds both classes); nothing here knows a dataset's column names.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ct_assets.ml.frames import BATCH, ROW_ID
from ct_assets.ml.vocabulary import BINARY
from ct_assets.project.spec import Column, ProjectSpec

# Producers' clocks drift; an event a few minutes ahead of ours is not "from the future".
FUTURE_TOLERANCE = timedelta(minutes=10)
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
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
EPOCH_UNITS = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}
# The end of an ISO time that carries its own offset: a time of day ("T13", "13:05",
# "130500.25"), then "Z" or an offset in hours ("+01", "-0530", "+05:30"). A date alone
# ("2026-03-01") has none. pandas reads no other spelling of an offset in ISO text.
_ISO_OFFSET = r"[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"
# A strftime format that reads an offset or a zone name.
_STRFTIME_OFFSET = re.compile(r"%[zZ]")

# pandera's check names, translated into the rule names ct reports.
_RULES = (
    (re.compile(r"^coerce_dtype\('(.+)'\)$"), "wrong_type"),
    (re.compile(r"^isin\("), "not_allowed_value"),
    (re.compile(r"^(greater|less)_than"), "out_of_range"),
    (re.compile(r"^in_range"), "out_of_range"),
    (re.compile(r"^str_matches\("), "pattern_mismatch"),
    (re.compile(r"^field_uniqueness$"), "duplicate_key"),
    (re.compile(r"^not_nullable$"), "null_value"),
    (re.compile(r"^column_in_schema$"), "unexpected_column"),
    (re.compile(r"^column_in_dataframe$"), "missing_column"),
)
# Restating a failed coercion as a dtype mismatch adds nothing a reader needs.
_REDUNDANT = re.compile(r"^dtype\(")
_FRAME = "ct_batch"  # the schema's name: frame-level failures carry it as their column


@dataclass(frozen=True)
class SchemaFailure:
    """One rule a batch broke: where (column, rows), what (rule, values) and in words."""

    column: str
    rule: str
    detail: str = ""
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f" at rows {self.rows}" if self.rows else ""
        shown = f" (values {self.values})" if self.values else ""
        detail = f": {self.detail}" if self.detail else ""
        subject = "file" if self.column == "*" else f"column {self.column!r}"
        return f"{subject} {self.rule}{detail}{where}{shown}"


@dataclass(frozen=True)
class ValidationOutcome:
    """Either a typed frame or the reasons the batch is refused."""

    source: str
    frame: pd.DataFrame | None
    failures: list[SchemaFailure]
    rows: int = 0  # rows delivered, when the file could be parsed at all

    @property
    def ok(self) -> bool:
        return not self.failures

    def reason(self) -> str:
        return f"{self.source}: " + "; ".join(f.describe() for f in self.failures)

    def as_record(self) -> dict[str, Any]:
        """Machine-readable (file, rule, column, rows) and human-readable at once."""
        return {
            "file": self.source,
            "reason": self.reason(),
            "rules": sorted({f.rule for f in self.failures}),
            "failures": [asdict(f) for f in self.failures],
        }


def dtype_of(column: Column) -> Any:
    if column.type == "int":
        return "Int64" if column.nullable else "int64"
    if column.type == "float":
        return "float64"
    if column.type == "bool":
        return "boolean" if column.nullable else "bool"
    if column.type == "datetime":
        return TIME
    return TEXT


def isin_values(column: Column) -> list[Any] | None:
    """The allowed values typed as the column is, for pandera's isin."""
    allowed = column.allowed
    if allowed is None:
        return None
    if column.type == "int":
        return [int(float(v)) for v in allowed]
    if column.type == "float":
        return [float(v) for v in allowed]
    if column.type == "bool":
        return [v in _TRUE for v in allowed]
    return list(allowed)


def _checks(name: str, column: Column, spec: ProjectSpec) -> list[pa.Check]:
    checks = []
    if column.checks.ge is not None:
        checks.append(pa.Check.ge(column.checks.ge))
    if column.checks.le is not None:
        checks.append(pa.Check.le(column.checks.le))
    allowed = isin_values(column)
    if allowed is not None:
        checks.append(pa.Check.isin(allowed))
    if column.checks.regex is not None:
        checks.append(pa.Check.str_matches(column.checks.regex))
    if name == spec.dataset.time:
        checks.append(
            pa.Check(
                lambda times: times <= pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE,
                name="future_timestamp",
            )
        )
    if name == spec.dataset.label and spec.task.type == BINARY:
        checks.append(pa.Check(lambda labels: bool(labels.nunique() >= 2), name="single_class"))
    return checks


_SCHEMAS: dict[str, pa.DataFrameSchema] = {}


def build_schema(spec: ProjectSpec) -> pa.DataFrameSchema:
    """The pandera schema of the declared dataset (built once per declaration)."""
    key = spec.dataset.model_dump_json() + spec.task.model_dump_json()
    if key not in _SCHEMAS:
        event_id = spec.dataset.event_id
        _SCHEMAS[key] = pa.DataFrameSchema(
            {
                name: pa.Column(
                    dtype_of(column),
                    checks=_checks(name, column, spec),
                    nullable=column.nullable,
                    unique=column.checks.unique or name == event_id,
                    description=column.description or None,
                )
                for name, column in spec.dataset.columns.items()
            },
            name=_FRAME,
            coerce=True,
            strict=True,
        )
    return _SCHEMAS[key]


def rule_for(check: str) -> str:
    for pattern, rule in _RULES:
        if pattern.search(check):
            return rule
    return check


def _failures_from(errors: pa.errors.SchemaErrors, max_rows: int = 5) -> list[SchemaFailure]:
    cases = errors.failure_cases
    failures: list[SchemaFailure] = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        check = str(check)
        if _REDUNDANT.search(check):
            continue
        # The first rows of the file that broke the rule, in file order.
        group = group.sort_values("index", kind="stable", na_position="first")
        values = [str(v) for v in group["failure_case"].tolist()[:max_rows]]
        if column == _FRAME:
            # Frame-level checks name the offending column in the failure case itself.
            for name in values:
                failures.append(SchemaFailure(name, rule_for(check)))
            continue
        rows = [int(i) for i in group["index"].dropna().tolist()[:max_rows]]
        detail = check if rule_for(check) != check else ""
        failures.append(SchemaFailure(str(column), rule_for(check), detail, rows, values))
    return failures


def _untyped_first(failures: list[SchemaFailure]) -> list[SchemaFailure]:
    # Once a column cannot be typed, its range and set checks only fail on the same values.
    untyped = {f.column for f in failures if f.rule == "wrong_type"}
    return [f for f in failures if f.column not in untyped or f.rule == "wrong_type"]


def mostly_null_columns(frame: pd.DataFrame, spec: ProjectSpec) -> list[SchemaFailure]:
    failures = []
    for name in frame.columns:
        column = spec.dataset.columns.get(str(name))
        if column is None:
            continue
        limit = column.checks.max_null_share
        limit = spec.quality.max_null_share if limit is None else limit
        share = float(frame[name].isna().mean())
        if share > limit:
            failures.append(
                SchemaFailure(
                    str(name), "mostly_null", f"{share:.0%} of rows are null (max {limit:.0%})"
                )
            )
    return failures


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
    true = text.isin(_TRUE).to_numpy(dtype=bool)
    false = text.isin(_FALSE).to_numpy(dtype=bool)
    unread = ~(true | false)
    bad = unread & values.notna().to_numpy()
    return pd.Series(pd.arrays.BooleanArray(true, unread), index=values.index), bad


def _typing_failure(name: str, values: pd.Series, bad: np.ndarray, kind: str) -> SchemaFailure:
    rows = np.flatnonzero(bad)[:5].tolist()
    shown = [str(v) for v in values.iloc[rows].tolist()]
    return SchemaFailure(name, "wrong_type", f"expected {kind}", rows, shown)


def prepare(frame: pd.DataFrame, spec: ProjectSpec) -> tuple[pd.DataFrame, list[SchemaFailure]]:
    """Read what pandera's coercion reads wrongly or not at all: booleans written as text
    ('false' is a non-empty string, so truthy), epoch and custom-format times, and times in a
    declared zone. Values that cannot be read are named here, as wrong_type."""
    failures = []
    for name, column in spec.dataset.columns.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        if column.type == "bool":
            typed, bad = _as_bools(values)
        elif column.type == "datetime" and (
            (column.format or "iso") != "iso" or column.timezone != "UTC"
        ):
            # ISO times in UTC are left to pandera (and to Arrow, for Parquet): the fast path.
            typed, bad = parse_times(values, column)
        else:
            continue
        if bad.any():
            kind = (
                "true or false" if column.type == "bool" else f"a time ({column.format or 'iso'})"
            )
            failures.append(_typing_failure(name, values, bad, kind))
        frame[name] = typed
    return frame, failures


def _missing_cells(values: pd.Series, spec: ProjectSpec, name: str) -> pd.Series:
    column = spec.dataset.columns.get(name)
    if column is None or column.type in ("string", "category"):
        return values.replace("", np.nan)
    return values.mask(values.isin(_NULL_SPELLINGS))


def validate_batch(frame: pd.DataFrame, source: str, spec: ProjectSpec) -> ValidationOutcome:
    """Type and check a frame against the declared dataset, collecting every failure at once."""
    if frame.empty:
        return ValidationOutcome(source, None, [SchemaFailure("*", "header_only", "no rows")])
    # An empty CSV cell is a missing value, not an empty string that happens to coerce, and in
    # a column of numbers, flags or times so is "NA" or "null". Only text as delivered (object
    # columns from CSV and JSON) has cells; typed Parquet has values.
    cells = frame.select_dtypes(include="object").columns
    text = frame.assign(**{c: _missing_cells(frame[c], spec, str(c)) for c in cells})
    text, typing = prepare(text, spec)
    mostly_null = mostly_null_columns(text, spec)
    schema = build_schema(spec)
    try:
        # In place: the frame was parsed for this call, and a copy of a million rows costs.
        typed = schema.validate(text, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as errors:
        # A mostly-null column is one reason, not hundreds of null-value rows; a column that
        # could not be read is one wrong_type, not also its nulls.
        drowned = {f.column for f in mostly_null}
        unreadable = {f.column for f in typing}
        rest = [
            f
            for f in _failures_from(errors)
            if f.column not in unreadable and not (f.column in drowned and f.rule == "null_value")
        ]
        return ValidationOutcome(
            source, None, _untyped_first(typing + mostly_null + rest), len(frame)
        )
    if typing or mostly_null:
        return ValidationOutcome(source, None, typing + mostly_null, len(frame))
    columns = list(schema.columns)
    if list(typed.columns) != columns:
        typed = typed[columns]
    if not typed.index.equals(pd.RangeIndex(len(typed))):
        typed = typed.reset_index(drop=True)
    return ValidationOutcome(source, typed, [], len(frame))


def empty_events(spec: ProjectSpec) -> pd.DataFrame:
    """A typed frame with no rows, for partitions whose batches were all refused."""
    schema = build_schema(spec)
    frame = pd.DataFrame({n: pd.Series(dtype=dtype_of(c)) for n, c in spec.dataset.columns.items()})
    return frame[list(schema.columns)].assign(
        **{BATCH: pd.Series(dtype=TEXT), ROW_ID: pd.Series(dtype=TEXT)}
    )
