"""`dataset` and `task`: what the data is (columns, types, checks, roles) and what to predict."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ct_assets.ingest.dialect import Delivery
from ct_assets.ml.vocabulary import (
    BINARY,
    PRIMARY_METRICS,
    TaskType,
)
from ct_assets.project.spec.base import Strict, did_you_mean

ColumnType = Literal["int", "float", "bool", "string", "category", "datetime"]
NUMERIC_TYPES = frozenset({"int", "float", "bool"})
# Columns ct adds to the frames it writes; a declared column may not take one of these names.
RESERVED_PREFIX = "ct_"
# A datetime column written as numbers: seconds (or ms, us, ns) since 1970-01-01 UTC, by the
# unit pandas and Arrow name it by.
EPOCH_UNITS: dict[str, Literal["s", "ms", "us", "ns"]] = {
    "epoch_s": "s",
    "epoch_ms": "ms",
    "epoch_us": "us",
    "epoch_ns": "ns",
}
TIME_FORMATS = ("iso", *EPOCH_UNITS)


class Checks(Strict):
    ge: float | None = Field(
        default=None, description="The smallest value allowed (int and float columns)."
    )
    le: float | None = Field(
        default=None, description="The largest value allowed (int and float columns)."
    )
    isin: list[str | int | float | bool] | None = Field(
        default=None,
        description="The only values allowed, compared as delivered text (not for datetime "
        "columns).",
    )
    regex: str | None = Field(
        default=None,
        description="A regular expression every value must match in full (string and category "
        "columns).",
    )
    unique: bool = Field(
        default=False,
        description="Each value names one event: a value repeated in a batch with other "
        "content in its row is a duplicate_key and set aside.",
    )
    max_null_share: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Above this share of nulls in one batch the column is refused as mostly "
        "null; unset: quality.max_null_share.",
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return value


class Column(Strict):
    type: ColumnType = Field(description="How the column's values are read and checked.")
    nullable: bool = Field(
        default=False,
        description="Whether a value may be missing; a missing value in a column that is not "
        "nullable sets its row aside.",
    )
    description: str = Field(
        default="", description="What the column holds, in words (shown in Dagster and MLflow)."
    )
    categories: list[str] | None = Field(
        default=None,
        description="category: the known values, in code order (a model reads the code).",
    )
    unseen: Literal["refuse", "unknown"] = Field(
        default="refuse",
        description="category: a value outside categories refuses its row (refuse), or is "
        "encoded as unknown (-1) and counted in the features' metadata (unknown).",
    )
    format: str | None = Field(
        default=None,
        description=f"datetime: how times are written: {', '.join(TIME_FORMATS)}, or a "
        "strftime pattern such as %d/%m/%Y %H:%M; unset: iso.",
    )
    timezone: str = Field(
        default="UTC",
        description="datetime: the IANA time zone of times written without one "
        "(e.g. Europe/Paris).",
    )
    checks: Checks = Field(
        default=Checks(), description="Rules every value must pass, else its row is set aside."
    )

    @field_validator("categories", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # YAML reads `[1, 2]` as numbers; values are compared as delivered text.
        if isinstance(value, list):
            return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
        return value

    @model_validator(mode="after")
    def _fits_type(self) -> Column:
        t, c = self.type, self.checks
        if self.type == "category" and not self.categories:
            raise ValueError("a category column needs its categories listed, e.g. [a, b, c]")
        if self.categories is not None and self.type != "category":
            raise ValueError(f"categories fit a category column, not {_a(t)} one")
        if self.categories and len(set(self.categories)) != len(self.categories):
            raise ValueError("categories are listed more than once")
        if self.format is not None and self.type != "datetime":
            raise ValueError(f"format fits a datetime column, not {_a(t)} one")
        if self.format is not None:
            _check_time_format(self.format)
        _check_timezone(self.timezone)
        for bound in ("ge", "le"):
            if getattr(c, bound) is not None and t not in ("int", "float"):
                raise ValueError(f"checks.{bound} fits an int or float column, not {_a(t)} one")
        if c.regex is not None and t not in ("string", "category"):
            raise ValueError(f"checks.regex fits a string or category column, not {_a(t)} one")
        if c.isin is not None and t == "datetime":
            raise ValueError("checks.isin does not fit a datetime column")
        if c.ge is not None and c.le is not None and c.ge > c.le:
            raise ValueError(f"checks.ge {c.ge} is above checks.le {c.le}")
        return self

    @property
    def allowed(self) -> list[str] | None:
        """Values a batch may hold, as text, when the column restricts them."""
        if self.type == "category" and self.unseen == "refuse":
            return self.categories
        if self.checks.isin is not None:
            return [str(v).lower() if isinstance(v, bool) else str(v) for v in self.checks.isin]
        return None


class Roles(Strict):
    label: str = Field(description="The column to predict (int, float, bool or category).")
    event_time: str = Field(
        description="The datetime column that places each event in time, and in a partition."
    )
    entity: str | None = Field(
        default=None,
        description="The column naming who or what an event is about (a customer, a meter); "
        "without one, no window features and no online store.",
    )
    event_id: str | None = Field(
        default=None,
        description="The column that identifies an event, for duplicates and delayed labels; "
        "without one, an event is known by its batch id and row.",
    )


class Dataset(Strict):
    roles: Roles = Field(description="Which declared columns play which part.")
    columns: dict[str, Column] = Field(
        description="Every column a delivered file holds, by name, with its type and checks."
    )
    format: Delivery = Field(
        default=Delivery(),
        description="How files are written (delimiter, decimal mark, encoding, nulls, ...): one "
        "declaration read by ct check, ingest, ct predict and batch scoring.",
    )

    @model_validator(mode="after")
    def _roles_fit(self) -> Dataset:
        names = list(self.columns)
        reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
        if reserved:
            raise ValueError(
                f"column names starting with {RESERVED_PREFIX!r} are ct's own: rename {reserved}"
            )
        for role, column in self.roles.model_dump().items():
            if column is not None and column not in self.columns:
                raise ValueError(
                    f"roles.{role}: {column!r} is not a declared column; "
                    f"columns: {', '.join(names)}{did_you_mean(column, names)}"
                )
        time = self.columns[self.roles.event_time]
        if time.type != "datetime":
            raise ValueError(
                f"roles.event_time: {self.roles.event_time!r} is a {time.type} column; "
                "event times need type datetime"
            )
        label = self.columns[self.roles.label]
        if label.nullable:
            raise ValueError(f"roles.label: {self.roles.label!r} must not be nullable")
        if label.type in ("datetime", "string"):
            raise ValueError(
                f"roles.label: {self.roles.label!r} is a {label.type} column; a label is int, "
                "float, bool or category"
            )
        if self.roles.entity and self.columns[self.roles.entity].type in ("float", "datetime"):
            raise ValueError(f"roles.entity: {self.roles.entity!r} must be an id, not a number")
        return self

    @property
    def label(self) -> str:
        return self.roles.label

    @property
    def time(self) -> str:
        return self.roles.event_time

    @property
    def entity(self) -> str | None:
        return self.roles.entity

    @property
    def event_id(self) -> str | None:
        return self.roles.event_id

    def label_values(self) -> list[str] | None:
        """The two values of a binary label as text, when the declaration restricts them."""
        column = self.columns[self.label]
        if column.type == "bool":
            return ["false", "true"]
        return column.allowed


# -- task ---------------------------------------------------------------------------------------


# Label values read as the positive class when `task.positive` is not declared, in this order
# (`ct init` proposes the same).
USUAL_POSITIVES = ("1", "true", "1.0", "yes", "y", "positive", "pos")


class Task(Strict):
    type: TaskType = Field(
        description="What to predict: a label of two values (binary) or a number (regression); "
        "`task: binary` is short for `task: {type: binary}`."
    )
    positive: str | None = Field(
        default=None,
        description="binary: the label value counted as positive; unset: the first of "
        f"{', '.join(USUAL_POSITIVES)} among the label's values, else the second value.",
    )
    metric: str | None = Field(
        default=None,
        description="The metric candidates are ranked and gated by: "
        + "; ".join(f"{', '.join(m)} ({task})" for task, m in PRIMARY_METRICS.items())
        + "; unset: the first of its task.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data

    @field_validator("positive", mode="before")
    @classmethod
    def _positive_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        return None if value is None else str(value)

    @model_validator(mode="after")
    def _metric_fits(self) -> Task:
        if self.metric is not None and self.metric not in PRIMARY_METRICS[self.type]:
            raise ValueError(
                f"metric {self.metric!r} cannot rank {self.type} models; choose one of "
                f"{', '.join(PRIMARY_METRICS[self.type])}"
            )
        if self.positive is not None and self.type != BINARY:
            raise ValueError("positive fits a binary task only")
        return self

    @property
    def primary(self) -> str:
        return self.metric or PRIMARY_METRICS[self.type][0]


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


# The strftime directives Arrow and pandas parse alike (`%%` is a literal percent sign).
_STRFTIME_DIRECTIVES = frozenset("aAwdbBmyYHIpMSfzZjUWGuV%")


def _check_time_format(fmt: str) -> None:
    """A datetime column's format: one of TIME_FORMATS or a strftime pattern whose every
    directive is one ct's readers parse; anything else would fail on the first file."""
    if fmt in TIME_FORMATS:
        return
    directives = re.findall(r"%(.?)", fmt)
    unknown = sorted({d for d in directives if d not in _STRFTIME_DIRECTIVES})
    if not directives or unknown:
        shown = f" (unknown: {', '.join('%' + d for d in unknown)})" if unknown else ""
        raise ValueError(
            f"format {fmt!r} is not {', '.join(TIME_FORMATS)} or a strftime pattern such as "
            f"'%d/%m/%Y %H:%M'{shown}"
        )
    if not {"Y", "y", "d", "j"} & set(directives):
        raise ValueError(f"format {fmt!r} names no date (%Y, %m, %d): it places no row in time")


def _check_timezone(zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone {zone!r} is not an IANA time zone such as UTC or Europe/Paris"
            f"{did_you_mean(zone, sorted(available_timezones()))}"
        ) from None
