"""Data-quality dimensions of a validated partition: measured values against thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from statistics import median

import pandas as pd

from ct_assets.ml import balance
from ct_assets.ml.features import label_values
from ct_assets.ml.frames import BATCH, ROW_ID
from ct_assets.project.load import KeyPath, Locate, declared_note
from ct_assets.project.spec import ProjectSpec, Quality


@dataclass(frozen=True)
class DimensionResult:
    name: str
    passed: bool
    summary: str
    measured: dict[str, float | str] = field(default_factory=dict)
    key: KeyPath = ()  # the key of ct.yaml holding the threshold it was judged by


def _quality(name: str) -> KeyPath:
    return ("quality", name)


def null_limit(name: str, spec: ProjectSpec) -> float:
    """The null rate a column may have: a column declared nullable may be null up to its own
    `max_null_share` (else the project's); any other one up to `quality.max_null_rate`."""
    column = spec.dataset.columns.get(name)
    if column is None or not column.nullable:
        return spec.quality.max_null_rate
    own = column.checks.max_null_share
    return spec.quality.max_null_share if own is None else own


def completeness(events: pd.DataFrame, spec: ProjectSpec) -> DimensionResult:
    rates = {
        str(c): round(float(events[c].isna().mean()), 4)
        for c in events.columns
        if c not in (BATCH, ROW_ID)
    }
    # The column closest to (or furthest over) its own limit.
    worst = max(rates, key=lambda c: rates[c] - null_limit(c, spec))
    limit = null_limit(worst, spec)
    ok = all(rate <= null_limit(c, spec) for c, rate in rates.items())
    summary = f"highest null rate for its limit {rates[worst]:.2%} in {worst!r} (max {limit:.2%})"
    measured: dict[str, float | str] = {f"null_rate.{c}": r for c, r in rates.items()}
    return DimensionResult("completeness", ok, summary, measured, _null_key(worst, spec))


def _null_key(name: str, spec: ProjectSpec) -> KeyPath:
    """The key holding the null rate `null_limit` allows the column."""
    column = spec.dataset.columns.get(name)
    if column is None or not column.nullable:
        return _quality("max_null_rate")
    if column.checks.max_null_share is not None:
        return ("dataset", "columns", name, "checks", "max_null_share")
    return _quality("max_null_share")


def uniqueness(events: pd.DataFrame, t: Quality, key: str) -> DimensionResult:
    """Rows delivered twice across the partition's batches (the same event id)."""
    duplicates = int(events[ROW_ID].duplicated().sum())
    rate = duplicates / len(events)
    ok = rate <= t.max_duplicate_rate
    summary = f"{duplicates} duplicate {key} values ({rate:.2%}, max {t.max_duplicate_rate:.2%})"
    return DimensionResult(
        "uniqueness", ok, summary, {"duplicate_keys": duplicates}, _quality("max_duplicate_rate")
    )


def validity(
    accepted_rows: int, refused_rows: int, t: Quality, set_aside_rows: int = 0
) -> DimensionResult:
    """The share of delivered rows that passed: rows set aside from an accepted batch are not
    valid any more than the rows of a refused one."""
    delivered = accepted_rows + refused_rows + set_aside_rows
    share = accepted_rows / delivered if delivered else 1.0
    ok = share >= t.min_valid_row_share
    summary = (
        f"{share:.2%} of delivered rows passed the schema (min {t.min_valid_row_share:.0%}); "
        f"{set_aside_rows} set aside, {refused_rows} in refused batches"
    )
    measured: dict[str, float | str] = {
        "valid_row_share": round(share, 4),
        "refused_rows": refused_rows,
        "set_aside_rows": set_aside_rows,
    }
    return DimensionResult("validity", ok, summary, measured, _quality("min_valid_row_share"))


def timeliness(times: pd.Series, arrived: datetime, t: Quality) -> DimensionResult:
    newest = times.max()
    lag_hours = (pd.Timestamp(arrived) - newest).total_seconds() / 3600
    future = int((times > pd.Timestamp(arrived)).sum())
    ok = lag_hours <= t.max_lag_hours and future == 0
    summary = (
        f"newest event {lag_hours:.1f} h before arrival (max {t.max_lag_hours:.0f} h), "
        f"{future} events after arrival"
    )
    measured: dict[str, float | str] = {"lag_hours": round(lag_hours, 2), "future_events": future}
    return DimensionResult("timeliness", ok, summary, measured, _quality("max_lag_hours"))


def volume(rows: int, trailing: list[int], t: Quality) -> DimensionResult:
    if not trailing:
        return DimensionResult("volume", True, f"{rows} rows; no earlier partitions to compare")
    typical = median(trailing)
    ratio = rows / typical if typical else float("inf")
    ok = t.min_volume_ratio <= ratio <= t.max_volume_ratio
    summary = (
        f"{rows} rows = {ratio:.2f}x the median {typical:.0f} of {len(trailing)} earlier "
        f"partitions (allowed {t.min_volume_ratio}x-{t.max_volume_ratio}x)"
    )
    measured: dict[str, float | str] = {
        "rows": rows,
        "trailing_median": typical,
        "ratio": round(ratio, 3),
    }
    bound = "min_volume_ratio" if ratio < t.min_volume_ratio else "max_volume_ratio"
    return DimensionResult("volume", ok, summary, measured, _quality(bound))


def label_balance(labels: pd.Series, spec: ProjectSpec) -> DimensionResult:
    """Binary: a count of positives plausible for the partition's rows at the declared bounds
    on the rate (`ml/balance.py`), so a feed that lost one class shows, and a small partition
    of a rare class is not failed for holding few or none by chance."""
    t = spec.quality
    low, high = t.min_positive_rate, t.max_positive_rate
    positives, rows = int(labels.sum()), len(labels)
    judged = balance.judge(positives, rows, low, high)
    percent = balance.percent
    counted = (
        f"label {spec.dataset.label!r}: {positives:,} of {rows:,} rows are {spec.positive!r} "
        f"({percent(judged.share)})"
    )
    limit = f"(implausible under {percent(balance.IMPLAUSIBLE)})"
    key = _quality("min_positive_rate")
    if judged.too_few:
        summary = (
            f"{counted}: about {rows * low:,.0f} expected at the minimum positive rate "
            f"{percent(low)}, and {positives:,} or fewer has {balance.odds(judged.below)} {limit}"
        )
    elif judged.too_many:
        key = _quality("max_positive_rate")
        summary = (
            f"{counted}: about {rows * high:,.0f} at most expected at the maximum positive rate "
            f"{percent(high)}, and {positives:,} or more has {balance.odds(judged.above)} {limit}"
        )
    else:
        summary = (
            f"{counted}: plausible for {rows:,} rows at a positive rate from {percent(low)} to "
            f"{percent(high)}"
        )
    measured: dict[str, float | str] = {
        "positive_rate": round(judged.share, 4),
        "positives": positives,
        "chance_below_min": round(judged.below, 6),
        "chance_above_max": round(judged.above, 6),
    }
    return DimensionResult("label_balance", judged.plausible, summary, measured, key)


def label_spread(labels: pd.Series, t: Quality) -> DimensionResult:
    """Regression: a label that does not vary cannot be learnt (a feed stuck on one value)."""
    distinct = int(labels.nunique())
    spread = float(labels.std()) if len(labels) > 1 else 0.0
    ok = distinct >= 2 and spread > 0
    summary = f"label takes {distinct} distinct values, standard deviation {spread:.4g}"
    measured: dict[str, float | str] = {
        "distinct_labels": distinct,
        "label_std": round(spread, 6),
        "label_mean": round(float(labels.mean()), 6),
    }
    return DimensionResult("label_spread", ok, summary, measured)


def measure_quality(
    events: pd.DataFrame,
    refused_rows: int,
    arrived: datetime,
    trailing_rows: list[int],
    spec: ProjectSpec,
    set_aside_rows: int = 0,
    locate: Locate | None = None,
) -> list[DimensionResult]:
    """Every dimension of one partition; an empty partition fails them all, saying so.

    `refused_rows` and `set_aside_rows`: the partition's rows in refused batches and set aside
    from accepted ones, not in `events`. `locate`: where ct.yaml writes a key, to name the
    line holding each failed threshold."""
    if events.empty:
        return [
            DimensionResult(d, False, "no accepted rows in this partition") for d in spec.dimensions
        ]
    t = spec.quality
    labels = label_values(events, spec)
    label = (
        label_balance(labels, spec)
        if spec.dimensions[-1] == "label_balance"
        else label_spread(labels, t)
    )
    results = [
        completeness(events, spec),
        uniqueness(events, t, spec.dataset.event_id or "row id"),
        validity(len(events), refused_rows, t, set_aside_rows),
        timeliness(events[spec.dataset.time], arrived, t),
        volume(len(events), trailing_rows, t),
        label,
    ]
    return results if locate is None else [located(r, locate) for r in results]


def located(result: DimensionResult, locate: Locate) -> DimensionResult:
    """A failed dimension naming the line of ct.yaml that holds its threshold (or that it is
    ct's default); a passing one as it is."""
    if result.passed or not result.key:
        return result
    note = declared_note(result.key, locate(result.key))
    return replace(result, summary=f"{result.summary} ({note})")
