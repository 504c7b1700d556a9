"""The declared project (`ct.yaml`) as typed models: what the data is, what to predict, how.

Every stage asks this value ("which columns are categorical?", "which way is better for the
metric?") instead of importing a dataset's constants. Models are frozen and forbid unknown keys;
cross-field rules (a label that is a column, a check that fits its column's type, a window
feature over a numeric column) are validated here, so an error names the key it is about.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ct_assets.ingest.dialect import Delivery
from ct_assets.ml import families as model_families
from ct_assets.ml.vocabulary import (
    BINARY,
    METRIC,
    PRIMARY_METRICS,
    REGRESSION,
    TASK_METRICS,
    TASKS,
    TaskType,
)

ColumnType = Literal["int", "float", "bool", "string", "category", "datetime"]
NUMERIC_TYPES = frozenset({"int", "float", "bool"})
# Columns ct adds to the frames it writes; a declared column may not take one of these names.
RESERVED_PREFIX = "ct_"
Granularity = Literal["5-minute", "15-minute", "hourly", "daily", "weekly"]
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)


@dataclass(frozen=True)
class Period:
    """What one granularity of partitions is: every place that needs a partition's length, its
    Dagster cron and key format, or where keys fall, reads it here."""

    length: timedelta
    cron: str
    key_format: str
    # Calendar transforms (ops) nearly constant within one partition: they name the partition.
    constant_ops: tuple[str, ...]
    # Partitions are `length` apart from this moment (UTC): weekly ones start on Sundays.
    anchor: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    def begin(self, moment: datetime) -> datetime:
        """Where the partition holding `moment` begins (UTC)."""
        elapsed = moment.astimezone(UTC) - self.anchor
        return self.anchor + (elapsed // self.length) * self.length

    def key_at(self, moment: datetime) -> str:
        """The key of the partition holding `moment`, spelled as Dagster spells it."""
        return self.begin(moment).strftime(self.key_format)

    @property
    def sub_daily(self) -> bool:
        return self.length < timedelta(days=1)


_MINUTES = "%Y-%m-%d-%H:%M"
PERIODS: dict[str, Period] = {
    "5-minute": Period(timedelta(minutes=5), "*/5 * * * *", _MINUTES, ("hour", "day_of_week")),
    "15-minute": Period(timedelta(minutes=15), "*/15 * * * *", _MINUTES, ("hour", "day_of_week")),
    "hourly": Period(timedelta(hours=1), "0 * * * *", _MINUTES, ("hour", "day_of_week")),
    "daily": Period(timedelta(days=1), "0 0 * * *", "%Y-%m-%d", ("day_of_week",)),
    "weekly": Period(
        timedelta(days=7), "0 0 * * 0", "%Y-%m-%d", (), anchor=datetime(1970, 1, 4, tzinfo=UTC)
    ),
}
SPLITS = ("time", "sequential", "random", "shuffled", "stratified", "group")
CUSTOM_SPLIT = "custom:"
DIMENSIONS_BY_TASK = {
    BINARY: ("completeness", "uniqueness", "validity", "timeliness", "volume", "label_balance"),
    REGRESSION: ("completeness", "uniqueness", "validity", "timeliness", "volume", "label_spread"),
}
# Names in a sources section that would hold a secret or a credentialed URL if given literally.
SECRET_KEYS = ("password", "token", "secret", "url", "dsn", "api_key", "key_secret")
_CREDENTIALS_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]+@", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def looks_secret(key: str, value: str) -> bool:
    """A value that is a secret by its key's name or a URL carrying credentials (the names
    of environment variables, `*_env`, are not: they say where a secret is, not what)."""
    if key.endswith("_env"):
        return False
    named = key in SECRET_KEYS or key.endswith(("password", "token", "secret"))
    return named or _CREDENTIALS_IN_URL.match(value) is not None


def without_credentials(url: str) -> str:
    """A URL with the password of its credentials masked: s3://user:***@host/..."""
    return _CREDENTIALS_IN_URL.sub(lambda m: m.group(0).rsplit(":", 1)[0] + ":***@", url)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str | int | float) -> timedelta:
    """'90s', '15m', '26h', '7d', '2w'; a bare number is seconds."""
    found = _DURATION.match(text) if isinstance(text, str) else None
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    elif found is not None:
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2).lower()]
    else:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 26h, 7d or 2w")
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return timedelta(seconds=seconds)


Duration = Annotated[str, Field(description="a duration such as 30s, 15m, 26h or 7d")]


def _duration(value: Any) -> str:
    parse_duration(value)
    return str(value)


class Threshold(BaseModel):
    """A margin or tolerance: absolute in the metric's units, or relative ('1%') to the
    champion's value (scale-free, for regression metrics whose units are the label's)."""

    model_config = ConfigDict(frozen=True)
    value: float
    relative: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError(f"expected a number or a percentage such as 1%, got {data!r}")
        if isinstance(data, int | float):
            return {"value": float(data)}
        if isinstance(data, str):
            text = data.strip()
            try:
                if text.endswith("%"):
                    return {"value": float(text[:-1]) / 100, "relative": True}
                return {"value": float(text)}
            except ValueError:
                raise ValueError(
                    f"expected a number or a percentage such as 1%, got {data!r}"
                ) from None
        return data

    def absolute(self, reference: float) -> float:
        return self.value * abs(reference) if self.relative else self.value

    def text(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"

    def __str__(self) -> str:
        return self.text()


# -- dataset ------------------------------------------------------------------------------------


class Checks(Strict):
    ge: float | None = None
    le: float | None = None
    isin: list[str | int | float | bool] | None = None
    regex: str | None = None
    unique: bool = False
    # Above this share of nulls in one batch the column is refused as mostly null.
    max_null_share: float | None = Field(default=None, ge=0.0, le=1.0)

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
    type: ColumnType
    nullable: bool = False
    description: str = ""
    # category: the known values, in code order (a model reads the code).
    categories: list[str] | None = None
    # category: a value outside `categories` refuses the batch, or is encoded as unknown (-1)
    # and counted in the features' metadata.
    unseen: Literal["refuse", "unknown"] = "refuse"
    # datetime: iso (default), epoch_s, epoch_ms, or a strftime pattern such as %d/%m/%Y %H:%M.
    format: str | None = None
    # datetime: the zone of times written without one.
    timezone: str = "UTC"
    checks: Checks = Checks()

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
    label: str
    event_time: str
    entity: str | None = None
    event_id: str | None = None


class Dataset(Strict):
    roles: Roles
    columns: dict[str, Column]
    # How files are written (delimiter, decimal mark, encoding, nulls, ...): one declaration
    # for every reader.
    format: Delivery = Delivery()

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


class Task(Strict):
    type: TaskType
    # binary: the label value counted as positive (default: 1, true, or the second value).
    positive: str | None = None
    # The metric candidates are ranked and gated by (roc_auc or log_loss; rmse or mae).
    metric: str | None = None

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


# -- features -----------------------------------------------------------------------------------


class _Transform(Strict):
    name: str


class Log1p(_Transform):
    op: Literal["log1p"]
    column: str


class Clip(_Transform):
    op: Literal["clip"]
    column: str
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Clip:
        if self.lower is None and self.upper is None:
            raise ValueError("clip needs lower, upper or both")
        return self


class Hour(_Transform):
    op: Literal["hour"]
    column: str


class DayOfWeek(_Transform):
    op: Literal["day_of_week"]
    column: str


class Ratio(_Transform):
    op: Literal["ratio"]
    columns: tuple[str, str]


Transform = Annotated[Log1p | Clip | Hour | DayOfWeek | Ratio, Field(discriminator="op")]
# Each transform's `op` is its one Literal: the list of ops is read from the models.
TRANSFORM_OPS: tuple[str, ...] = tuple(
    get_args(model.model_fields["op"].annotation)[0] for model in get_args(get_args(Transform)[0])
)
AGGREGATIONS = ("count", "sum", "mean", "std", "min", "max", "last", "time_since_last")


class WindowGroup(Strict):
    """Aggregates of one numeric column of the entity's earlier events, per window."""

    column: str
    aggregations: list[Literal[AGGREGATIONS]]  # type: ignore[valid-type]
    windows: list[str]

    @field_validator("windows")
    @classmethod
    def _durations(cls, values: list[str]) -> list[str]:
        for value in values:
            _duration(value)
        return values


class Windows(Strict):
    # An event at exactly the same time counts as "before" only when inclusive.
    inclusive: bool = False
    aggregates: list[WindowGroup] = []


class Features(Strict):
    # Declared columns the model reads as they are (numbers, booleans, category codes).
    columns: list[str] = []
    transforms: list[Transform] = []
    windows: Windows = Windows()


# -- the rest: partitions, training, gates, quality, drift, freshness, sources -------------------


class Partitions(Strict):
    granularity: Granularity = "daily"
    # A date, or (for partitions shorter than a day) a UTC time where a partition begins:
    # 2026-01-01T09:15 for 15-minute partitions.
    start: str = "2026-01-01"

    @field_validator("start")
    @classmethod
    def _a_date(cls, value: str) -> str:
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date such as 2026-01-01 (or a time: 2026-01-01T09:15)"
            ) from None
        return str(value)

    @model_validator(mode="after")
    def _start_on_a_boundary(self) -> Partitions:
        # A date is taken as Dagster takes it: partitions begin at the first boundary from it
        # (weekly ones on the Sunday after). A time must be a boundary itself.
        timed = len(self.start) > len("2026-01-01")
        if timed and self.period.begin(self.start_time) != self.start_time:
            raise ValueError(
                f"start {self.start!r} is not where a {self.granularity} partition begins"
            )
        return self

    @property
    def period(self) -> Period:
        return PERIODS[self.granularity]

    @property
    def start_time(self) -> datetime:
        """The first partition's beginning, in UTC."""
        moment = datetime.fromisoformat(self.start)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Search(Strict):
    trials: int = Field(default=0, ge=0)
    timeout: str = "300s"

    _t = field_validator("timeout")(classmethod(lambda cls, v: _duration(v)))


class Selection(Strict):
    # Off: every feature is kept (the leak guards below still apply: they are not pruning).
    enabled: bool = True
    near_constant_share: float = Field(default=0.995, gt=0.0, le=1.0)
    max_null_share: float = Field(default=0.95, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0)
    # Leak guards, on whatever `enabled` says: a feature that names the partition (constant
    # within each partition, its holdout values seen in at most one training partition), a
    # copy of the label, or one that alone scores at least `max_single_feature_score` (ROC AUC,
    # or R² for regression) on the holdout is left out, with the reason.
    max_single_feature_score: float = Field(default=0.995, gt=0.5, le=1.0)
    # Features kept past every rule above, each with a warning of what it risks.
    force: list[str] = []


class Training(Strict):
    window: int = Field(default=7, ge=1)
    # At most this many rows of the window are trained and held out on, drawn uniformly
    # (seeded by `seed`) when it holds more: a stream at 10k events/s fills a 5-minute partition
    # with 3M rows. None: every row.
    max_rows: int | None = Field(default=None, ge=100)
    holdout_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    split: str = "time"
    seed: int = 0
    # Default: every family registered `by_default` (a family added later is opt-in).
    families: list[str] = Field(default_factory=lambda: list(model_families.defaults()))
    incremental_rounds: int = Field(default=30, ge=1)
    full_retrain_every: int = Field(default=7, ge=1)
    search: Search = Search()
    selection: Selection = Selection()
    # The windows candidates are trained on, each in partitions ending at the newest training
    # row, plus `since_change`: the partitions since the champion's live performance broke.
    # They compete on the same holdout: after a change the short ones win, in steady state the
    # long one. Default: 1, 3 and `window` partitions, and since_change.
    windows: list[int | Literal["since_change"]] | None = None

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str) -> str:
        if value not in SPLITS and not value.startswith(CUSTOM_SPLIT):
            raise ValueError(
                f"{value!r}: expected one of {', '.join(SPLITS)} or {CUSTOM_SPLIT}module:function"
            )
        return value

    @field_validator("families")
    @classmethod
    def _known_families(cls, values: list[str]) -> list[str]:
        known = model_families.names()
        unknown = [v for v in values if v not in known]
        if unknown or not values:
            raise ValueError(
                f"{unknown or 'none'}: expected some of {', '.join(known)}"
                + "".join(did_you_mean(u, known) for u in unknown)
            )
        return values

    @model_validator(mode="after")
    def _windows_fit(self) -> Training:
        if self.windows is None:
            return self
        if not self.windows:
            raise ValueError("windows: name at least one, e.g. [1, 3, 7, since_change]")
        below = [w for w in self.windows if isinstance(w, int) and w < 1]
        if below:
            raise ValueError(f"windows: {below}: a candidate window holds at least 1 partition")
        return self

    @property
    def candidate_windows(self) -> tuple[int | str, ...]:
        """The windows candidates compete on, in declaration order, each once."""
        # By default 1 and 3 partitions (they recover fast from an abrupt change), the whole
        # window (what steady state wants), and since_change. A count above `window` is the
        # whole window: a shorter window declared later leaves the list valid.
        declared = self.windows if self.windows is not None else (1, 3, self.window, SINCE_CHANGE)
        sizes = [min(w, self.window) if isinstance(w, int) else w for w in declared]
        return tuple(dict.fromkeys(sizes))


SINCE_CHANGE = "since_change"


class Slices(Strict):
    columns: list[str] = []
    # Slices with fewer holdout rows are listed but not judged: their metric would be noise.
    min_rows: int = Field(default=100, ge=1)
    tolerance: Threshold | None = None


class Serving(Strict):
    latency_ms_p95: float = Field(default=50.0, gt=0)
    size_mb: float = Field(default=100.0, gt=0)


_BOUND = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=)\s*(-?[0-9.eE+-]+)\s*$")


class Gates(Strict):
    # Absolute bounds on holdout metrics of the best candidate, e.g. "roc_auc >= 0.6".
    floors: list[str] | None = None
    margin: Threshold | None = None
    slices: Slices = Slices()
    serving: Serving = Serving()

    @field_validator("floors", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p for p in (s.strip() for s in value.split(",")) if p]
        return value

    @field_validator("floors")
    @classmethod
    def _bounds(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if not _BOUND.match(value):
                raise ValueError(f"{value!r} is not a bound such as roc_auc >= 0.6 or rmse <= 3")
        return values


class Quality(Strict):
    max_null_rate: float = 0.01
    max_duplicate_rate: float = 0.0
    min_valid_row_share: float = 0.95
    max_lag_hours: float = 48.0
    min_volume_ratio: float = 0.5
    max_volume_ratio: float = 2.0
    # binary: the bounds on the rate of positives in the feed. A batch is judged by its count
    # of positives against them (`ml/balance.py`): refused (single_class, or a failed
    # label_balance) only when a count as low as its own has under a 0.1% chance at
    # min_positive_rate (as high, at max_positive_rate), so a small day with no positive at a
    # rare rate goes on, and a large batch is held to nearly the bound.
    min_positive_rate: float = Field(default=0.02, ge=0.0, le=1.0)
    max_positive_rate: float = Field(default=0.98, ge=0.0, le=1.0)
    # A batch where a column is null in more than this share of rows is refused (mostly_null).
    max_null_share: float = Field(default=0.5, gt=0.0, le=1.0)
    # Rows breaking a row rule (out_of_range, wrong_type, duplicate_row, ...) are set aside in
    # quarantine and the rest of the batch goes on while they are at most this share of it; one
    # wrong row in 2,000 must not cost a day. Above it the whole file is refused.
    max_bad_row_share: float = Field(default=0.01, ge=0.0, lt=1.0)
    # A row equal in every column to an earlier one of its batch: set aside (refuse), or kept
    # where data legitimately repeats (few categorical columns, times without a clock).
    duplicate_rows: Literal["refuse", "keep"] = "refuse"
    blocking: list[str] | None = None

    @model_validator(mode="after")
    def _rates_ordered(self) -> Quality:
        if self.min_positive_rate > self.max_positive_rate:
            raise ValueError(
                f"min_positive_rate: {self.min_positive_rate:g} is above max_positive_rate "
                f"{self.max_positive_rate:g}"
            )
        return self


class DriftMeasure(Strict):
    """How one kind of feature is judged: an effect size (`method`) and the size that is drift.

    An effect size, not a p-value: at a few hundred rows a day a test finds every harmless
    move of the weather significant. The default 0.3 sits between what ordinary days move
    (the KS statistic of public daily weather: up to 0.15 on most features) and what a
    reassigned column or a unit change moves (0.34 and up); see README, Drift judged on effect size.
    """

    KIND: ClassVar[str] = ""
    METHODS: ClassVar[tuple[str, ...]] = ()
    # Measures that cannot exceed 1: a threshold above it would never flag.
    BOUNDED: ClassVar[frozenset[str]] = frozenset({"ks", "tvd", "jensenshannon"})
    method: str
    threshold: float = Field(default=0.3, gt=0.0)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in cls.METHODS:
            raise ValueError(
                f"{value!r}: {cls.KIND} features are judged by one of {', '.join(cls.METHODS)}"
                + did_you_mean(value, cls.METHODS)
            )
        return value

    @model_validator(mode="after")
    def _reachable(self) -> DriftMeasure:
        if self.method in self.BOUNDED and self.threshold > 1:
            raise ValueError(
                f"threshold: {self.method} is at most 1, so {self.threshold:g} would never flag"
            )
        return self


class NumericDrift(DriftMeasure):
    # ks: the Kolmogorov-Smirnov statistic D, the largest gap between the two cumulative
    # distributions (on ranks, without bins: one outlier cannot squeeze a shift into a bin);
    # or Evidently's wasserstein (normed by the reference's spread), psi or jensenshannon
    # (both over equal-width bins).
    KIND = "numeric"
    METHODS = ("ks", "wasserstein", "psi", "jensenshannon")
    method: str = "ks"


class CategoricalDrift(DriftMeasure):
    # tvd: the total variation distance, the share of rows that would have to change category
    # (what D is for numbers); or Evidently's psi or jensenshannon.
    KIND = "categorical"
    METHODS = ("tvd", "psi", "jensenshannon")
    method: str = "tvd"


class Drift(Strict):
    # Columns (features) left out of drift: e.g. a day of week, constant in a daily partition.
    exclude: list[str] = []
    # The share of monitored features that drift at which a partition is flagged.
    threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    # Per kind of feature, what drift is; a feature drifts when its effect size reaches the
    # threshold and the noise of the partition's size (see ct_assets/ml/drift.py).
    numeric: NumericDrift = NumericDrift()
    categorical: CategoricalDrift = CategoricalDrift()
    # A feature whose rank correlation with some other feature moved by at least this much is
    # reported as a likely upstream change of meaning, even when its own distribution holds.
    correlation_threshold: float = Field(default=0.3, gt=0.0, le=2.0)
    # At most this many rows on each side (the reference, the partition) are compared, drawn
    # uniformly: the noise floor follows the rows compared. None: every row (3.0M rows against
    # 1.6M: 100 s and 3.9 GiB alone, 8 minutes in a loaded soak; 200k a side: 9 s).
    max_rows: int | None = Field(default=None, ge=100)


class Window(Strict):
    warn: str = "26h"
    fail: str = "36h"

    _w = field_validator("warn", "fail")(classmethod(lambda cls, v: _duration(v)))

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if parse_duration(self.warn) > parse_duration(self.fail):
            raise ValueError(f"warn {self.warn} is longer than fail {self.fail}")
        if parse_duration(self.warn) < timedelta(minutes=1):
            # Dagster's freshness policies refuse windows under a minute.
            raise ValueError(f"warn {self.warn} is under a minute")
        return self


class Freshness(Strict):
    sources: Window = Window()
    model: Window = Window(warn="26h", fail="48h")


class Server(Strict):
    """`ct serve`: where it listens, what a request may hold, how traffic is routed."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Rows per request; a larger batch is refused (413) rather than stalling every other client.
    max_batch_rows: int = Field(default=1000, ge=1)
    # Past this, the previous champion answers the request and the event is counted.
    latency_budget_ms: float = Field(default=50.0, gt=0)
    # How often the registry is asked whether the champion alias moved (hot swap).
    reload_interval: Duration = "2s"
    # Share of requests a new champion answers during its baking period (the rest: the one it
    # replaced); 1.0 sends it everything at once.
    canary_fraction: float = Field(default=0.2, ge=0.0, le=1.0)
    # Score the registry's `challenger` alias (the best refused candidate) beside the champion:
    # logged, never returned.
    shadow: bool = True
    # Where delayed labels for served predictions land, inside the landing folder: files with
    # the request id and the label column, joined to the prediction log by id.
    labels_folder: str = "labels"

    _r = field_validator("reload_interval")(classmethod(lambda cls, v: _duration(v)))


RetrainTrigger = Literal["every_partition", "drift", "performance", "schedule"]
RETRAIN_TRIGGERS: tuple[str, ...] = get_args(RetrainTrigger)


class Retrain(Strict):
    """When a retrain runs: any of the triggers listed (not `on:`, which YAML reads as true)."""

    triggers: list[RetrainTrigger] = ["every_partition"]
    # `drift`: the share of drifted features of a new partition at or above this.
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    # `performance`: the champion's live metric on a new labeled partition worse than its
    # holdout metric at promotion by more than this (a number, or "5%" of the baseline).
    performance_margin: Threshold = Threshold(value=0.05)
    # `schedule`: a cron expression (UTC), e.g. "0 3 * * *".
    schedule: str | None = None

    @model_validator(mode="after")
    def _schedule_given(self) -> Retrain:
        if "schedule" in self.triggers and not self.schedule:
            raise ValueError("triggers: schedule needs policy.retrain.schedule, e.g. '0 3 * * *'")
        if self.schedule is not None:
            _check_cron(self.schedule)
        if not self.triggers:
            raise ValueError("triggers: name at least one of " + ", ".join(RETRAIN_TRIGGERS))
        return self


class Baking(Strict):
    """How long a newly promoted champion is on probation (either bound ends it)."""

    partitions: int = Field(default=2, ge=1)
    requests: int = Field(default=1000, ge=1)


class Rollback(Strict):
    """Move the champion back when, in its baking period, it does worse live than the one it
    replaced by more than `margin`, over at least `min_partitions` partitions or
    `min_requests` labeled served requests."""

    enabled: bool = True
    margin: Threshold = Threshold(value=0.02)
    min_partitions: int = Field(default=1, ge=1)
    min_requests: int = Field(default=200, ge=1)
    baking: Baking = Baking()
    # A champion whose first live partitions miss its holdout figure by more than
    # `policy.evaluation_gap` goes back to the one it replaced when that one did better on the
    # same rows, by any amount: the evaluation that promoted it did not predict production.
    on_evaluation_gap: bool = True


class Policy(Strict):
    retrain: Retrain = Retrain()
    rollback: Rollback = Rollback()
    # How far a champion's live metric on its first live partitions (its baking period) may
    # fall short of its holdout figure before the evaluation is judged not to predict live (a
    # number, or "10%" of the holdout figure): a failed check, an alert naming the likely
    # cause, and by `rollback.on_evaluation_gap` a rollback.
    evaluation_gap: Threshold = Threshold(value=0.05)
    # A label rate (binary) or mean (regression) that moved this far from the champion's
    # training rows is flagged as a prior shift: Cohen's h for a rate, the difference in
    # training standard deviations for a mean (0.2 is a small effect in both).
    label_shift: float = Field(default=0.2, gt=0.0)


def with_task_margins(policy: dict[str, Any]) -> dict[str, Any]:
    """A regression project's policy, its undeclared margins as shares of the baseline."""
    retrain = dict(policy.get("retrain") or {})
    rollback = dict(policy.get("rollback") or {})
    retrain.setdefault("performance_margin", "5%")
    rollback.setdefault("margin", "2%")
    out = {**policy, "retrain": retrain, "rollback": rollback}
    out.setdefault("evaluation_gap", "10%")
    return out


def default_policy(task: str) -> Policy:
    """The policy in force for a task when ct.yaml declares none."""
    return Policy.model_validate(with_task_margins({}) if task == REGRESSION else {})


class _Secretless(Strict):
    """A source's connection settings: endpoints and secrets by environment-variable name."""

    # Where a secret given literally belongs instead: (the key to use, the variable to set).
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_URL")

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            if isinstance(value, str) and looks_secret(key, value):
                field, variable = cls.SECRET_HOME
                if key == "token" and "token_env" in cls.model_fields:
                    field, variable = "token_env", variable.replace("_URL", "_TOKEN")
                raise ValueError(
                    f"{key}: a literal {'URL' if key == 'url' else 'secret'} does not belong in "
                    f"ct.yaml; set it in the environment variable {variable} and name that "
                    f"variable here: {field}: {variable}"
                )
        return data


class SqlSource(_Secretless):
    # The password travels inside the SQLAlchemy URL, so the URL is the secret.
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_SQL_URL")
    url_env: str = "CT_SQL_URL"
    table: str = "events"
    watermark_column: str = "ingested_at"
    key_column: str | None = None  # default: the event_id role
    columns: list[str] | None = None
    batch_rows: int = Field(default=100_000, ge=1)


class RedisStreamSource(_Secretless):
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_REDIS_URL")
    url_env: str = "CT_REDIS_URL"
    stream: str = "ct:events"
    group: str = "ct"
    consumer: str = "ct-ingest"


class HttpApiSource(_Secretless):
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_HTTP_URL")
    url_env: str = "CT_HTTP_URL"
    token_env: str | None = "CT_HTTP_TOKEN"


class Sources(Strict):
    # A folder beside ct.yaml, or s3://bucket/prefix (credentials from the AWS_* variables).
    landing: str = "landing"
    s3_endpoint_env: str = "CT_S3_ENDPOINT_URL"
    poll_interval: str = "5s"
    sql: SqlSource | None = None
    redis_stream: RedisStreamSource | None = None
    http_api: HttpApiSource | None = None

    _p = field_validator("poll_interval")(classmethod(lambda cls, v: _duration(v)))

    @field_validator("landing")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if _CREDENTIALS_IN_URL.match(value):
            raise ValueError(
                "credentials do not belong in ct.yaml: keep landing as s3://bucket/prefix and "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
            )
        return value

    @property
    def pulled(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, section in (
                ("sql_table", self.sql),
                ("redis_stream", self.redis_stream),
                ("http_api", self.http_api),
            )
            if section is not None
        )


class Runs(Strict):
    """How many runs the production instance's queue lets go at once (rendered into its
    dagster.yaml): in all, of runs that train candidates, of backfill runs."""

    max_concurrent: int = Field(default=4, ge=1)
    training: int = Field(default=1, ge=1)
    backfills: int = Field(default=2, ge=1)


# -- the whole project --------------------------------------------------------------------------


class ProjectSpec(Strict):
    """The whole declaration; sections other than dataset and task have defaults."""

    name: str = Field(default="ct", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # The MLflow registered model whose `champion` alias serves (default: the project name).
    registered_model: str | None = None
    environment: Literal["local", "production"] = "local"
    dataset: Dataset
    task: Task
    features: Features
    partitions: Partitions = Partitions()
    training: Training = Training()
    gates: Gates = Gates()
    quality: Quality = Quality()
    drift: Drift = Drift()
    freshness: Freshness = Freshness()
    sources: Sources = Sources()
    serving: Server = Server()
    policy: Policy = Policy()
    runs: Runs = Runs()

    @model_validator(mode="before")
    @classmethod
    def _margins_for_the_task(cls, data: Any) -> Any:
        """Policy margins not declared are in the metric's own scale: absolute for binary
        metrics (ROC AUC is 0-1 everywhere), a share of the baseline for regression (an RMSE
        is in the label's units)."""
        if not isinstance(data, dict) or not isinstance(data.get("task"), dict):
            return data
        if data["task"].get("type") != REGRESSION:
            return data
        return {**data, "policy": with_task_margins(data.get("policy") or {})}

    @model_validator(mode="after")
    def _consistent(self) -> ProjectSpec:
        _check_task(self)
        _check_features(self)
        _check_gates(self)
        _check_rest(self)
        return self

    # -- answers the stages ask for ------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.registered_model or self.name

    @property
    def metric(self) -> str:
        return self.task.primary

    @property
    def positive(self) -> str:
        """The binary label's positive value, as text."""
        if self.task.positive is not None:
            return self.task.positive
        values = self.dataset.label_values() or []
        for usual in ("1", "true", "1.0", "yes", "y", "positive", "pos"):
            if usual in values:
                return usual
        return values[-1]

    @property
    def negative(self) -> str:
        return next(v for v in self.dataset.label_values() or [] if v != self.positive)

    def column(self, name: str) -> Column:
        return self.dataset.columns[name]

    @property
    def categorical_inputs(self) -> tuple[str, ...]:
        return tuple(c for c in self.features.columns if self.column(c).type == "category")

    @property
    def window_features(self) -> tuple[tuple[str, str, str], ...]:
        """(column, aggregation, window) of every window feature, in declaration order."""
        return tuple(
            (group.column, aggregation, window)
            for group in self.features.windows.aggregates
            for window in group.windows
            for aggregation in group.aggregations
        )

    @property
    def row_features(self) -> tuple[str, ...]:
        """Features of the event alone: declared columns as they are, then transforms."""
        return (*self.features.columns, *(t.name for t in self.features.transforms))

    @property
    def feature_names(self) -> tuple[str, ...]:
        windows = tuple(f"{c}_{a}_{w}" for c, a, w in self.window_features)
        return (*self.row_features, *windows)

    @property
    def numeric_inputs(self) -> tuple[str, ...]:
        return tuple(f for f in self.feature_names if f not in self.categorical_inputs)

    @property
    def slice_columns(self) -> tuple[str, ...]:
        return tuple(self.gates.slices.columns)

    @property
    def floors(self) -> list[str]:
        if self.gates.floors is not None:
            return self.gates.floors
        return ["roc_auc >= 0.6"] if self.task.type == BINARY else ["r2 >= 0"]

    @property
    def margin(self) -> Threshold:
        if self.gates.margin is not None:
            return self.gates.margin
        return Threshold(value=0.01, relative=self.task.type == REGRESSION)

    @property
    def slice_tolerance(self) -> Threshold:
        if self.gates.slices.tolerance is not None:
            return self.gates.slices.tolerance
        if self.task.type == BINARY:
            return Threshold(value=0.05)
        return Threshold(value=0.1, relative=True)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return DIMENSIONS_BY_TASK[self.task.type]

    @property
    def blocking(self) -> frozenset[str]:
        if self.quality.blocking is not None:
            return frozenset(self.quality.blocking)
        return frozenset({"uniqueness", self.dimensions[-1]})

    @property
    def calendar_features(self) -> tuple[str, ...]:
        """Features read off the calendar (an hour, a day of week): with partitions by time,
        they can name a partition instead of carrying a pattern."""
        return tuple(t.name for t in self.features.transforms if isinstance(t, Hour | DayOfWeek))

    @property
    def drift_excluded(self) -> dict[str, str]:
        """Features left out of drift, with why: declared, or constant within a partition."""
        out = {name: "declared in drift.exclude" for name in self.drift.exclude}
        for t in self.features.transforms:
            if t.op in self.partitions.period.constant_ops:
                out.setdefault(
                    t.name,
                    f"{t.op} is nearly constant within a {self.partitions.granularity} "
                    "partition: it would drift every time",
                )
        return out

    def feature_set_id(self, code_version: str) -> str:
        """A short hash of the features section, the dataset columns it reads, and the code."""
        used = sorted(self._columns_read())
        canonical = json.dumps(
            {
                "features": self.features.model_dump(mode="json"),
                "columns": {c: self.column(c).model_dump(mode="json") for c in used},
                "roles": self.dataset.roles.model_dump(mode="json"),
                "code_version": code_version,
            },
            sort_keys=True,
        )
        return "fs-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def _columns_read(self) -> set[str]:
        read = set(self.features.columns)
        for t in self.features.transforms:
            read.update(t.columns if isinstance(t, Ratio) else (t.column,))
        read.update(g.column for g in self.features.windows.aggregates)
        return read


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


TIME_FORMATS = ("iso", "epoch_s", "epoch_ms")
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


def _check_cron(expression: str) -> None:
    # croniter parses it (Dagster schedules with the same library, vendored); Dagster takes
    # five fields only, no seconds.
    from croniter import croniter

    fields = expression.startswith("@") or len(expression.split()) == 5  # @daily, @hourly
    if not fields or not croniter.is_valid(expression):
        raise ValueError(
            f"schedule {expression!r} is not a cron expression: five fields, minute hour "
            "day-of-month month day-of-week, e.g. '0 3 * * *' (03:00 UTC every day)"
        )


def _check_floor(where: str, name: str, op: str, value: float) -> None:
    """A floor bounds a metric from its bad side, inside the values the metric can take."""
    metric = METRIC[name]
    if metric.higher_is_better is True and op == "<=":
        raise ValueError(
            f"{where}: {name} <= {value:g} bounds it from above, but higher is better: a floor "
            f"is {name} >= {value:g}"
        )
    if metric.higher_is_better is False and op == ">=":
        raise ValueError(
            f"{where}: {name} >= {value:g} bounds it from below, but lower is better: a floor "
            f"is {name} <= {value:g}"
        )
    if op == ">=" and metric.high is not None and value > metric.high:
        raise ValueError(
            f"{where}: no model can meet {name} >= {value:g}: {name} is at most {metric.high:g}"
        )
    if op == "<=" and metric.low is not None and value < metric.low:
        raise ValueError(
            f"{where}: no model can meet {name} <= {value:g}: {name} is at least {metric.low:g}"
        )


def did_you_mean(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_task(spec: ProjectSpec) -> None:
    label = spec.column(spec.dataset.label)
    if spec.task.type == BINARY:
        values = spec.dataset.label_values()
        if values is None or len(values) != 2:
            found = "none" if values is None else ", ".join(values)
            raise ValueError(
                f"task: binary needs the label {spec.dataset.label!r} restricted to two values "
                f"(checks.isin: [0, 1], or a category with two categories); it allows {found}"
            )
        if spec.task.positive is not None and spec.task.positive not in values:
            raise ValueError(
                f"task.positive: {spec.task.positive!r} is not a value of the label "
                f"{spec.dataset.label!r} ({', '.join(values)})"
            )
    elif label.type not in ("int", "float"):
        raise ValueError(
            f"task: regression needs a numeric label; {spec.dataset.label!r} is a {label.type} "
            "column"
        )


def _check_features(spec: ProjectSpec) -> None:
    ds, f = spec.dataset, spec.features
    roles = {r: c for r, c in ds.roles.model_dump().items() if c is not None}
    for i, name in enumerate(f.columns):
        where = f"features.columns[{i}]"
        if name not in ds.columns:
            raise ValueError(
                f"{where}: {name!r} is not a declared column{did_you_mean(name, ds.columns)}"
            )
        role = next((r for r, c in roles.items() if c == name and r != "entity"), None)
        if role is not None:
            raise ValueError(f"{where}: {name!r} is the {role}; a model does not read it")
        kind = ds.columns[name].type
        if kind in ("string", "datetime"):
            hint = (
                "use a transform (hour, day_of_week)"
                if kind == "datetime"
                else "declare it a category with its categories, or leave it out"
            )
            raise ValueError(f"{where}: {name!r} is a {kind} column: {hint}")
    for i, t in enumerate(f.transforms):
        where = f"features.transforms[{i}] ({t.name})"
        sources = t.columns if isinstance(t, Ratio) else (t.column,)
        for source in sources:
            if source not in ds.columns:
                raise ValueError(
                    f"{where}: {source!r} is not a declared column"
                    f"{did_you_mean(source, ds.columns)}"
                )
            kind = ds.columns[source].type
            if t.op in ("hour", "day_of_week") and kind != "datetime":
                raise ValueError(f"{where}: {t.op} reads a datetime column; {source!r} is {kind}")
            if t.op in ("log1p", "clip", "ratio") and kind not in NUMERIC_TYPES:
                raise ValueError(f"{where}: {t.op} reads a numeric column; {source!r} is {kind}")
            if source == ds.label:
                raise ValueError(f"{where}: {source!r} is the label; a model does not read it")
    if f.windows.aggregates and ds.entity is None:
        raise ValueError(
            "features.windows: window features aggregate each entity's earlier events; declare "
            "dataset.roles.entity, or remove the windows"
        )
    for i, group in enumerate(f.windows.aggregates):
        where = f"features.windows.aggregates[{i}]"
        if group.column not in ds.columns:
            raise ValueError(
                f"{where}.column: {group.column!r} is not a declared column"
                f"{did_you_mean(group.column, ds.columns)}"
            )
        kind = ds.columns[group.column].type
        if kind not in NUMERIC_TYPES:
            raise ValueError(
                f"{where}.column: a window feature aggregates a numeric column; "
                f"{group.column!r} is a {kind} column"
            )
        if group.column == ds.label:
            raise ValueError(
                f"{where}.column: {group.column!r} is the label; windows over past labels leak "
                "the answer of events whose labels arrive late"
            )
    names = spec.feature_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"features: names defined twice: {duplicated}")
    clash = [t.name for t in f.transforms if t.name in ds.columns]
    if clash:
        raise ValueError(f"features.transforms: {clash} already name declared columns")
    if not names:
        raise ValueError("features: no column, transform or window feature: the model reads none")


def _check_gates(spec: ProjectSpec) -> None:
    known = TASK_METRICS[spec.task.type]
    for i, floor in enumerate(spec.floors):
        found = _BOUND.match(floor)
        assert found is not None  # validated by Gates
        if found.group(1) not in known:
            raise ValueError(
                f"gates.floors[{i}]: {found.group(1)!r} is not a {spec.task.type} metric; "
                f"known: {', '.join(known)}{did_you_mean(found.group(1), known)}"
            )
        _check_floor(f"gates.floors[{i}]", found.group(1), found.group(2), float(found.group(3)))
    for i, name in enumerate(spec.gates.slices.columns):
        where = f"gates.slices.columns[{i}]"
        if name not in spec.dataset.columns:
            raise ValueError(
                f"{where}: {name!r} is not a declared column"
                f"{did_you_mean(name, spec.dataset.columns)}"
            )
        kind = spec.column(name).type
        if kind in ("float", "datetime"):
            raise ValueError(
                f"{where}: {name!r} is a {kind} column; slices are groups of a category, "
                "bool, int or string column"
            )


def _check_rest(spec: ProjectSpec) -> None:
    if spec.training.split == "group" and spec.dataset.entity is None:
        raise ValueError("training.split: group splits by entity; declare dataset.roles.entity")
    if spec.training.split == "stratified" and spec.task.type != BINARY:
        raise ValueError("training.split: stratified needs a binary label")
    unknown = set(spec.quality.blocking or []) - set(spec.dimensions)
    if unknown:
        raise ValueError(
            f"quality.blocking: {sorted(unknown)} are not dimensions of a {spec.task.type} "
            f"task; known: {', '.join(spec.dimensions)}"
        )
    sql = spec.sources.sql
    if sql is not None and sql.key_column is None and spec.dataset.event_id is None:
        raise ValueError(
            "sources.sql.key_column: a SQL source needs a key to order rows within a watermark; "
            "name one, or declare dataset.roles.event_id"
        )
    names = set(spec.feature_names)
    unknown_drift = [c for c in spec.drift.exclude if c not in names]
    if unknown_drift:
        raise ValueError(
            f"drift.exclude: {unknown_drift} are not features; features: {', '.join(names)}"
        )
    forced = spec.training.selection.force
    for i, name in enumerate(forced):
        if name not in names:
            raise ValueError(
                f"training.selection.force[{i}]: {name!r} is not a feature"
                f"{did_you_mean(name, names)}; features: {', '.join(spec.feature_names)}"
            )


__all__ = [
    "AGGREGATIONS",
    "GRANULARITIES",
    "PERIODS",
    "TASKS",
    "TRANSFORM_OPS",
    "Column",
    "Dataset",
    "ProjectSpec",
    "Threshold",
    "parse_duration",
]
