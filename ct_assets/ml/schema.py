"""The event schema every batch must satisfy, and turning a raw file into a typed frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

CHANNELS = ("web", "app", "store")
COUNTRIES = ("US", "GB", "DE", "FR", "BR")
LABEL = "label"
EVENT_TIME = "event_time"
ENTITY = "entity_id"


class EventSchema(pa.DataFrameModel):
    """One row per event: who, when, what, and the binary outcome to predict."""

    event_id: str = pa.Field(unique=True)
    entity_id: str
    event_time: pd.DatetimeTZDtype = pa.Field(dtype_kwargs={"unit": "ns", "tz": "UTC"})
    amount: float = pa.Field(ge=0)
    n_items: int = pa.Field(ge=1)
    channel: str = pa.Field(isin=list(CHANNELS))
    country: str = pa.Field(isin=list(COUNTRIES))
    account_age_days: float = pa.Field(ge=0)
    label: int = pa.Field(isin=[0, 1])

    class Config:
        coerce = True
        strict = True


SCHEMA_COLUMNS: tuple[str, ...] = tuple(EventSchema.to_schema().columns)


@dataclass(frozen=True)
class SchemaFailure:
    """One rule one column broke, with a few of the offending rows and values."""

    column: str
    check: str
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f" at rows {self.rows}" if self.rows else ""
        shown = f" (values {self.values})" if self.values else ""
        return f"column {self.column!r} failed {self.check}{where}{shown}"


@dataclass(frozen=True)
class ValidationOutcome:
    """Either a typed frame or the reasons the batch is refused."""

    source: str
    frame: pd.DataFrame | None
    failures: list[SchemaFailure]

    @property
    def ok(self) -> bool:
        return not self.failures

    def reason(self) -> str:
        return f"{self.source}: " + "; ".join(f.describe() for f in self.failures)

    def as_record(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "reason": self.reason(),
            "failures": [f.__dict__ for f in self.failures],
        }


def read_batch(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file (optionally gzip-compressed) exactly as delivered."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        # Read as text so that type problems surface in validation with their values, not as
        # silent float/NaN guesses by the CSV reader.
        return pd.read_csv(
            path,
            dtype=str,
            compression="gzip" if name.endswith(".gz") else None,
            keep_default_na=False,
        )
    raise ValueError(f"{path}: unsupported file type (expected .csv, .csv.gz or .parquet)")


def _failures_from(errors: pa.errors.SchemaErrors, max_rows: int = 5) -> list[SchemaFailure]:
    cases = errors.failure_cases
    failures: list[SchemaFailure] = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        rows = [int(i) for i in group["index"].dropna().tolist()[:max_rows]]
        values = [str(v) for v in group["failure_case"].tolist()[:max_rows]]
        if column == EventSchema.__name__:
            # Frame-level checks name the column in the failure case itself.
            column_name = ", ".join(values)
            label = {"column_in_schema": "unexpected column", "column_in_dataframe": "missing"}
            failures.append(SchemaFailure(column_name, label.get(str(check), str(check))))
            continue
        failures.append(SchemaFailure(str(column), str(check), rows, values))
    return failures


def validate_batch(frame: pd.DataFrame, source: str) -> ValidationOutcome:
    """Type and check a raw frame against EventSchema, collecting every failure at once."""
    if frame.empty:
        return ValidationOutcome(source, None, [SchemaFailure("*", "non-empty batch")])
    # An empty CSV cell is a missing value, not an empty string that happens to coerce.
    text = frame.replace("", pd.NA)
    try:
        typed = EventSchema.validate(text, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return ValidationOutcome(source, None, _failures_from(errors))
    return ValidationOutcome(source, typed[list(SCHEMA_COLUMNS)].reset_index(drop=True), [])


def empty_events() -> pd.DataFrame:
    """A typed frame with no rows, for partitions whose batches were all refused."""
    return EventSchema.validate(pd.DataFrame(columns=list(SCHEMA_COLUMNS)))


__all__ = [
    "CHANNELS",
    "COUNTRIES",
    "ENTITY",
    "EVENT_TIME",
    "LABEL",
    "SCHEMA_COLUMNS",
    "EventSchema",
    "SchemaFailure",
    "ValidationOutcome",
    "empty_events",
    "read_batch",
    "validate_batch",
]
