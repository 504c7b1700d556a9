"""The event schema every batch must satisfy, and the reasons a batch is refused."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

CHANNELS = ("web", "app", "store")
COUNTRIES = ("US", "GB", "DE", "FR", "BR")
LABEL = "label"
EVENT_TIME = "event_time"
ENTITY = "entity_id"
# Producers' clocks drift; an event a few minutes ahead of ours is not "from the future".
FUTURE_TOLERANCE = timedelta(minutes=10)
# Above this share of nulls a column is reported as mostly null, not row by row.
MOSTLY_NULL = 0.5


# Text columns are Arrow-backed strings: pandera checks their dtype at once instead of testing
# every value with isinstance (which took 2 s of 3 on a million rows), and Parquet reads them
# without building a Python object per cell.
TEXT = {"storage": "pyarrow"}


class EventSchema(pa.DataFrameModel):
    """One row per event: who, when, what, and the binary outcome to predict."""

    event_id: pd.StringDtype = pa.Field(unique=True, dtype_kwargs=TEXT)
    entity_id: pd.StringDtype = pa.Field(dtype_kwargs=TEXT)
    event_time: pd.DatetimeTZDtype = pa.Field(dtype_kwargs={"unit": "ns", "tz": "UTC"})
    amount: float = pa.Field(ge=0)
    n_items: int = pa.Field(ge=1)
    channel: pd.StringDtype = pa.Field(isin=list(CHANNELS), dtype_kwargs=TEXT)
    country: pd.StringDtype = pa.Field(isin=list(COUNTRIES), dtype_kwargs=TEXT)
    # Guest checkouts have no account: a null age is data, a mostly-null column is a broken feed.
    account_age_days: float = pa.Field(ge=0, nullable=True)
    label: int = pa.Field(isin=[0, 1])

    @pa.check(EVENT_TIME, name="future_timestamp")
    @classmethod
    def not_in_future(cls, times: pd.Series) -> pd.Series:
        return times <= pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE

    @pa.check(LABEL, name="single_class")
    @classmethod
    def both_classes(cls, labels: pd.Series) -> bool:
        return bool(labels.nunique() >= 2)

    class Config:
        coerce = True
        strict = True


SCHEMA_COLUMNS: tuple[str, ...] = tuple(EventSchema.to_schema().columns)

# pandera's check names, translated into the rule names ct reports.
_RULES = (
    (re.compile(r"^coerce_dtype\('(.+)'\)$"), "wrong_type"),
    (re.compile(r"^isin\("), "not_allowed_value"),
    (re.compile(r"^(greater|less)_than"), "out_of_range"),
    (re.compile(r"^in_range"), "out_of_range"),
    (re.compile(r"^field_uniqueness$"), "duplicate_key"),
    (re.compile(r"^not_nullable$"), "null_value"),
    (re.compile(r"^column_in_schema$"), "unexpected_column"),
    (re.compile(r"^column_in_dataframe$"), "missing_column"),
)
# Restating a failed coercion as a dtype mismatch adds nothing a reader needs.
_REDUNDANT = re.compile(r"^dtype\(")


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
        values = [str(v) for v in group["failure_case"].tolist()[:max_rows]]
        if column == EventSchema.__name__:
            # Frame-level checks name the offending column in the failure case itself.
            for name in values:
                failures.append(SchemaFailure(name, rule_for(check)))
            continue
        rows = [int(i) for i in group["index"].dropna().tolist()[:max_rows]]
        detail = check if rule_for(check) != check else ""
        failures.append(SchemaFailure(str(column), rule_for(check), detail, rows, values))
    # Once a column cannot be typed, its range and set checks only fail on the same values.
    untyped = {f.column for f in failures if f.rule == "wrong_type"}
    return [f for f in failures if f.column not in untyped or f.rule == "wrong_type"]


def mostly_null_columns(frame: pd.DataFrame) -> list[SchemaFailure]:
    failures = []
    for column in frame.columns:
        share = float(frame[column].isna().mean())
        if share > MOSTLY_NULL:
            failures.append(
                SchemaFailure(
                    str(column),
                    "mostly_null",
                    f"{share:.0%} of rows are null (max {MOSTLY_NULL:.0%})",
                )
            )
    return failures


def validate_batch(frame: pd.DataFrame, source: str) -> ValidationOutcome:
    """Type and check a text frame against EventSchema, collecting every failure at once."""
    if frame.empty:
        return ValidationOutcome(source, None, [SchemaFailure("*", "header_only", "no rows")])
    # An empty CSV cell is a missing value, not an empty string that happens to coerce. Only
    # text as delivered (object columns from CSV and JSON) has cells; typed Parquet has values.
    cells = frame.select_dtypes(include="object").columns
    text = frame.assign(**{c: frame[c].replace("", np.nan) for c in cells}) if len(cells) else frame
    mostly_null = mostly_null_columns(text)
    try:
        # In place: the frame was parsed for this call, and a copy of a million rows costs.
        typed = EventSchema.validate(text, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as errors:
        # A mostly-null column is one reason, not hundreds of null-value rows.
        drowned = {f.column for f in mostly_null}
        rest = [
            f
            for f in _failures_from(errors)
            if not (f.column in drowned and f.rule == "null_value")
        ]
        return ValidationOutcome(source, None, mostly_null + rest, len(frame))
    if mostly_null:
        return ValidationOutcome(source, None, mostly_null, len(frame))
    if list(typed.columns) != list(SCHEMA_COLUMNS):
        typed = typed[list(SCHEMA_COLUMNS)]
    if not typed.index.equals(pd.RangeIndex(len(typed))):
        typed = typed.reset_index(drop=True)
    return ValidationOutcome(source, typed, [], len(frame))


def empty_events() -> pd.DataFrame:
    """A typed frame with no rows, for partitions whose batches were all refused."""
    return EventSchema.to_schema().coerce_dtype(pd.DataFrame(columns=list(SCHEMA_COLUMNS)))
