"""`quality`, `drift` and `freshness`: what refuses data, what is drift, what is overdue."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ct_assets.ml import drift_methods
from ct_assets.ml.vocabulary import (
    BINARY,
    REGRESSION,
)
from ct_assets.project.spec.base import (
    Duration,
    Strict,
    did_you_mean,
    duration_text,
    parse_duration,
)

DIMENSIONS_BY_TASK = {
    BINARY: ("completeness", "uniqueness", "validity", "timeliness", "volume", "label_balance"),
    REGRESSION: ("completeness", "uniqueness", "validity", "timeliness", "volume", "label_spread"),
}


class Quality(Strict):
    max_null_rate: float = Field(
        default=0.01,
        description="completeness: the largest share of nulls in a partition's column that is "
        "not nullable (a nullable one: its checks.max_null_share, else max_null_share).",
    )
    max_duplicate_rate: float = Field(
        default=0.0,
        description="uniqueness: the largest share of a partition's rows whose event id was "
        "already delivered.",
    )
    min_valid_row_share: float = Field(
        default=0.95,
        description="validity: the smallest share of a partition's delivered rows that must "
        "pass the declaration.",
    )
    max_lag_hours: float = Field(
        default=48.0,
        description="timeliness: the most hours the newest event of a batch may be older than "
        "its arrival (no event may be after it).",
    )
    min_volume_ratio: float = Field(
        default=0.5,
        description="volume: the fewest rows of a partition, as a multiple of the median of "
        "the earlier partitions.",
    )
    max_volume_ratio: float = Field(
        default=2.0,
        description="volume: the most rows of a partition, as a multiple of the median of the "
        "earlier partitions.",
    )
    # A batch is judged by its count of positives against the rate bounds (`ml/balance.py`):
    # refused only when a count as low as its own has under a 0.1% chance at
    # min_positive_rate (as high, at max_positive_rate), so a small day with no positive at a
    # rare rate goes on, and a large batch is held to nearly the bound.
    min_positive_rate: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="binary: the lowest rate of positives in the feed; a batch with implausibly "
        "few positives for it is refused (single_class, or a failed label_balance).",
    )
    max_positive_rate: float = Field(
        default=0.98,
        ge=0.0,
        le=1.0,
        description="binary: the highest rate of positives in the feed; a batch with "
        "implausibly many positives for it is refused.",
    )
    max_null_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="A batch where a column is null in more than this share of rows is refused "
        "(mostly_null).",
    )
    max_bad_row_share: float = Field(
        default=0.01,
        ge=0.0,
        lt=1.0,
        description="Rows breaking a row rule (out_of_range, wrong_type, duplicate_row, ...) "
        "are set aside in quarantine while they are at most this share of their file; above "
        "it the whole file is refused.",
    )
    duplicate_rows: Literal["refuse", "keep"] = Field(
        default="refuse",
        description="A row equal in every column to an earlier one of its batch: set aside "
        "(refuse), or kept where data legitimately repeats rows (keep).",
    )
    blocking: list[str] | None = Field(
        default=None,
        description="The data-quality dimensions whose failure stops a partition: "
        + "; ".join(f"{', '.join(d)} ({task})" for task, d in DIMENSIONS_BY_TASK.items())
        + "; unset: uniqueness and the label's dimension.",
    )

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
    method: str = Field(description="The effect size a feature's move is measured by.")
    threshold: float = Field(
        default=0.3,
        gt=0.0,
        description="The effect size at which a feature drifts (at most 1 for a measure that "
        "cannot exceed 1).",
    )

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
        # A measure that cannot exceed 1 would never reach a threshold above it.
        if drift_methods.get(self.method).bounded and self.threshold > 1:
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
    METHODS = drift_methods.for_kind(drift_methods.NUMERIC)
    method: str = Field(
        default="ks",
        description=f"One of {', '.join(METHODS)}: ks is the Kolmogorov-Smirnov statistic, the "
        "largest gap between the two cumulative distributions.",
    )


class CategoricalDrift(DriftMeasure):
    # tvd: the total variation distance, the share of rows that would have to change category
    # (what D is for numbers); or Evidently's psi or jensenshannon.
    KIND = "categorical"
    METHODS = drift_methods.for_kind(drift_methods.CATEGORICAL)
    method: str = Field(
        default="tvd",
        description=f"One of {', '.join(METHODS)}: tvd is the total variation distance, the "
        "share of rows that would have to change category.",
    )


class Drift(Strict):
    exclude: list[str] = Field(
        default=[],
        description="Features left out of drift (a calendar feature constant within a "
        "partition is left out by itself).",
    )
    threshold: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="The share of monitored features that drift at which a partition is flagged.",
    )
    # A feature drifts when its effect size reaches the threshold and the noise of the
    # partition's size (see ct_assets/ml/drift.py).
    numeric: NumericDrift = Field(
        default=NumericDrift(), description="What drift is for a numeric feature."
    )
    categorical: CategoricalDrift = Field(
        default=CategoricalDrift(), description="What drift is for a categorical feature."
    )
    correlation_threshold: float = Field(
        default=0.3,
        gt=0.0,
        le=2.0,
        description="A feature whose rank correlation with another moved by at least this "
        "much is reported as a likely upstream change of meaning, even when its own "
        "distribution holds.",
    )
    # Unset costs: 3.0M rows against 1.6M took 100 s and 3.9 GiB alone, 8 minutes in a loaded
    # soak; 200k a side: 9 s.
    max_rows: int | None = Field(
        default=None,
        ge=100,
        description="At most this many rows on each side (the reference, the partition) are "
        "compared, drawn uniformly; unset: every row.",
    )


class FreshnessWindow(Strict):
    warn: Duration = Field(default="26h", description="Overdue after this long: a warning.")
    fail: Duration = Field(default="36h", description="Overdue after this long: a failure.")

    _w = field_validator("warn", "fail")(classmethod(lambda cls, v: duration_text(v)))

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessWindow:
        if parse_duration(self.warn) > parse_duration(self.fail):
            raise ValueError(f"warn {self.warn} is longer than fail {self.fail}")
        if parse_duration(self.warn) < timedelta(minutes=1):
            # Dagster's freshness policies refuse windows under a minute.
            raise ValueError(f"warn {self.warn} is under a minute")
        return self


class Freshness(Strict):
    sources: FreshnessWindow = Field(
        default=FreshnessWindow(), description="How long the sources may go without a new file."
    )
    model: FreshnessWindow = Field(
        default=FreshnessWindow(warn="26h", fail="48h"),
        description="How long the model may go without a new decision.",
    )
