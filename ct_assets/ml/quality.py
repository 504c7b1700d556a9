"""Data-quality dimensions of a validated partition: measured values against thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

import pandas as pd

from ct_assets.ml.schema import EVENT_TIME, LABEL

DIMENSIONS = ("completeness", "uniqueness", "validity", "timeliness", "volume", "label_balance")
KEY = "event_id"


@dataclass(frozen=True)
class QualityThresholds:
    max_null_rate: float = 0.01
    max_duplicate_rate: float = 0.0
    min_valid_row_share: float = 0.95
    max_lag_hours: float = 48.0
    min_volume_ratio: float = 0.5
    max_volume_ratio: float = 2.0
    min_positive_rate: float = 0.02
    max_positive_rate: float = 0.98


@dataclass(frozen=True)
class DimensionResult:
    name: str
    passed: bool
    summary: str
    measured: dict[str, float | str] = field(default_factory=dict)


def completeness(events: pd.DataFrame, t: QualityThresholds) -> DimensionResult:
    rates = {c: round(float(events[c].isna().mean()), 4) for c in events.columns}
    worst = max(rates, key=lambda c: rates[c])
    ok = rates[worst] <= t.max_null_rate
    summary = f"highest null rate {rates[worst]:.2%} in {worst!r} (max {t.max_null_rate:.2%})"
    return DimensionResult(
        "completeness", ok, summary, {f"null_rate.{c}": r for c, r in rates.items()}
    )


def uniqueness(events: pd.DataFrame, t: QualityThresholds) -> DimensionResult:
    duplicates = int(events[KEY].duplicated().sum())
    rate = duplicates / len(events)
    ok = rate <= t.max_duplicate_rate
    summary = f"{duplicates} duplicate {KEY} values ({rate:.2%}, max {t.max_duplicate_rate:.2%})"
    return DimensionResult("uniqueness", ok, summary, {"duplicate_keys": duplicates})


def validity(accepted_rows: int, refused_rows: int, t: QualityThresholds) -> DimensionResult:
    delivered = accepted_rows + refused_rows
    share = accepted_rows / delivered if delivered else 1.0
    ok = share >= t.min_valid_row_share
    summary = f"{share:.2%} of delivered rows passed the schema (min {t.min_valid_row_share:.0%})"
    return DimensionResult(
        "validity", ok, summary, {"valid_row_share": round(share, 4), "refused_rows": refused_rows}
    )


def timeliness(events: pd.DataFrame, arrived: datetime, t: QualityThresholds) -> DimensionResult:
    newest = events[EVENT_TIME].max()
    lag_hours = (pd.Timestamp(arrived) - newest).total_seconds() / 3600
    future = int((events[EVENT_TIME] > pd.Timestamp(arrived)).sum())
    ok = lag_hours <= t.max_lag_hours and future == 0
    summary = (
        f"newest event {lag_hours:.1f} h before arrival (max {t.max_lag_hours:.0f} h), "
        f"{future} events after arrival"
    )
    return DimensionResult(
        "timeliness", ok, summary, {"lag_hours": round(lag_hours, 2), "future_events": future}
    )


def volume(rows: int, trailing: list[int], t: QualityThresholds) -> DimensionResult:
    if not trailing:
        return DimensionResult("volume", True, f"{rows} rows; no earlier partitions to compare")
    typical = median(trailing)
    ratio = rows / typical if typical else float("inf")
    ok = t.min_volume_ratio <= ratio <= t.max_volume_ratio
    summary = (
        f"{rows} rows = {ratio:.2f}x the median {typical:.0f} of {len(trailing)} earlier "
        f"partitions (allowed {t.min_volume_ratio}x-{t.max_volume_ratio}x)"
    )
    return DimensionResult(
        "volume", ok, summary, {"rows": rows, "trailing_median": typical, "ratio": round(ratio, 3)}
    )


def label_balance(events: pd.DataFrame, t: QualityThresholds) -> DimensionResult:
    rate = float(events[LABEL].mean())
    ok = t.min_positive_rate <= rate <= t.max_positive_rate
    summary = (
        f"positive rate {rate:.2%} (allowed {t.min_positive_rate:.0%}-{t.max_positive_rate:.0%})"
    )
    return DimensionResult("label_balance", ok, summary, {"positive_rate": round(rate, 4)})


def measure_quality(
    events: pd.DataFrame,
    refused_rows: int,
    arrived: datetime,
    trailing_rows: list[int],
    thresholds: QualityThresholds,
) -> list[DimensionResult]:
    """Every dimension of one partition; an empty partition fails them all, saying so."""
    if events.empty:
        return [DimensionResult(d, False, "no accepted rows in this partition") for d in DIMENSIONS]
    return [
        completeness(events, thresholds),
        uniqueness(events, thresholds),
        validity(len(events), refused_rows, thresholds),
        timeliness(events, arrived, thresholds),
        volume(len(events), trailing_rows, thresholds),
        label_balance(events, thresholds),
    ]
