"""Data drift between a reference window and a partition, judged on effect sizes.

Evidently computes each feature's effect size and writes the report; ct decides. A feature
drifts when its effect size reaches the threshold declared for its kind (`drift.numeric`,
`drift.categorical`) and the noise that a partition of its size shows by itself (`noise_floor`).
Not on a p-value: at a few hundred rows a day a test finds harmless daily weather significant
on most days, and at 50,000 rows it finds everything significant.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml import drift_methods
from ct_assets.ml.drift_methods import (  # noqa: F401  (re-exported: tests read them here)
    CATEGORICAL,
    NOISE_ALPHA,
    NUMERIC,
    ks_statistic,
    total_variation,
)
from ct_assets.project.spec import Drift, DriftMeasure, ProjectSpec


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    method: str
    effect: float
    threshold: float
    # The effect size sampling noise reaches at these row counts: below it nothing is drift.
    noise_floor: float
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    reference_partitions: list[str]
    reference_rows: int
    current_rows: int
    drift_share: float
    features: list[FeatureDrift]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drifted_features": self.drifted_features}


def choose_reference(
    available: Mapping[str, pd.DataFrame], current: str, champion_partitions: list[str] | None
) -> tuple[list[str], str]:
    """The champion's training partitions when known and present, else every earlier one."""
    earlier = sorted(k for k in available if k < current and not available[k].empty)
    if champion_partitions:
        chosen = [k for k in earlier if k in set(champion_partitions)]
        if chosen:
            return chosen, "the champion's training window"
    return earlier, "the partitions before this one (no champion window available)"


# -- effect sizes and their noise (the methods: `ml/drift_methods.py`) --------------------------


def noise_floor(method: str, reference_rows: int, current_rows: int, categories: int = 2) -> float:
    """The effect size sampling noise alone exceeds with probability
    `drift_methods.NOISE_ALPHA` at these row counts, for this method; methods without a known
    floor get 0."""
    return drift_methods.get(method).noise_floor(reference_rows, current_rows, categories)


def _drifted(effect: float, threshold: float, floor: float) -> bool:
    """The verdict: an effect at least as large as the threshold and as sampling noise.

    A NaN effect (nothing measurable on one side) is no drift: an empty or all-null column is
    the quarantine's business, not drift's.
    """
    return not math.isnan(effect) and effect >= max(threshold, floor)


def drift_share(features: list[FeatureDrift]) -> float:
    """The share of monitored features that drifted (0 when none is monitored)."""
    return sum(f.drifted for f in features) / len(features) if features else 0.0


# Evidently's column type for each kind of feature.
COLUMN_TYPES: dict[str, Callable[[Any], Any]] = {
    NUMERIC: lambda types: types.Numerical,
    CATEGORICAL: lambda types: types.Categorical,
}


def _as_stattest(effect: Callable[[Any, Any], float]) -> Callable[..., tuple[float, bool]]:
    def judged(
        reference: pd.Series, current: pd.Series, _kind: Any, threshold: float
    ) -> tuple[float, bool]:
        # ct passes each column's threshold already raised to its noise floor.
        value = effect(reference, current)
        return value, _drifted(value, threshold, 0.0)

    return judged


@functools.cache
def _register_stattests() -> None:
    """Make ct's effect sizes Evidently stattests (once per process), so its report shows
    what ct judged: Evidently's own `ks` and `TVD` return p-values, these the statistics."""
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    for name in drift_methods.names():
        method = drift_methods.get(name)
        if method.effect is None:
            continue
        kinds = [
            ColumnType.Numerical if k == NUMERIC else ColumnType.Categorical
            for k in sorted(method.kinds, reverse=True)
        ]
        test = StatTest(method.stattest, method.title, kinds, default_threshold=0.3)
        register_stattest(test, _as_stattest(method.effect))


def monitored(spec: ProjectSpec) -> tuple[list[str], list[str]]:
    """(numeric, categorical) features whose drift is measured.

    Window features depend on how much history precedes a partition (none near the start), so
    drift is measured on what each event brings by itself, less what the project excludes and
    what is constant within a partition (a day of week in a daily partition always "drifts"
    against other days, a false alarm every day).
    """
    excluded = spec.drift_excluded
    kept = [f for f in spec.row_features if f not in excluded]
    categorical = [f for f in kept if f in spec.categorical_inputs]
    return [f for f in kept if f not in categorical], categorical


def _measurable(values: pd.Series) -> pd.Series:
    # What Evidently compares: infinities and nulls are dropped before any stattest.
    return values.replace([np.inf, -np.inf], np.nan).dropna()


def floors(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], measure: DriftMeasure
) -> dict[str, float]:
    """Each column's noise floor at the rows it has on both sides."""
    out = {}
    for column in columns:
        before, after = _measurable(reference[column]), _measurable(current[column])
        categories = (
            pd.concat([before, after]).nunique()
            if CATEGORICAL in drift_methods.get(measure.method).kinds
            else 2
        )
        out[column] = noise_floor(measure.method, len(before), len(after), categories)
    return out


def measure_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    reference_partitions: list[str],
    numeric: list[str],
    categorical: list[str],
    rules: Drift | None = None,
) -> tuple[DriftResult, Any]:
    """Per-feature effect sizes and verdicts, the share of drifted features, and Evidently's
    snapshot (whose report shows the same methods, scores and verdicts).

    `rules`: the project's `drift` section (default: ct's defaults).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    rules = rules or Drift()
    _register_stattests()
    kinds = {NUMERIC: (numeric, rules.numeric), CATEGORICAL: (categorical, rules.categorical)}
    noise = {
        kind: floors(reference, current, columns, measure)
        for kind, (columns, measure) in kinds.items()
    }
    # Evidently judges each column against its threshold raised to its noise floor, as ct
    # does, so the report and ct agree on every verdict.
    effective = {
        column: max(measure.threshold, noise[kind][column])
        for kind, (columns, measure) in kinds.items()
        for column in columns
    }
    columns = [*numeric, *categorical]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report(
        [
            DataDriftPreset(
                columns=columns,
                drift_share=rules.threshold,
                num_method=drift_methods.get(rules.numeric.method).stattest,
                cat_method=drift_methods.get(rules.categorical.method).stattest,
                per_column_threshold=effective,
            )
        ]
    ).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    effects = {
        metric["config"]["column"]: float(metric["value"])
        for metric in snapshot.dict()["metrics"]
        if metric["config"]["type"].endswith("ValueDrift")
    }
    features = [
        FeatureDrift(
            column,
            kind,
            measure.method,
            round(effects[column], 6),
            measure.threshold,
            round(noise[kind][column], 6),
            _drifted(effects[column], measure.threshold, noise[kind][column]),
        )
        for kind, (names, measure) in kinds.items()
        for column in names
    ]
    share = drift_share(features)
    result = DriftResult(reference_partitions, len(reference), len(current), share, features)
    return result, snapshot


@dataclass(frozen=True)
class ColumnShift:
    """A column's largest change of rank correlation with any other monitored column."""

    feature: str
    partner: str
    reference_rho: float
    current_rho: float
    shift: float
    shifted: bool


@dataclass(frozen=True)
class CorrelationShift:
    threshold: float
    columns: list[ColumnShift]

    @property
    def shifted_features(self) -> list[str]:
        return [c.feature for c in self.columns if c.shifted]

    @property
    def max_shift(self) -> float:
        return max((c.shift for c in self.columns), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "shifted_features": self.shifted_features,
            "max_shift": self.max_shift,
        }


# Below this many rows on either side, a rank correlation moves by 0.3 from noise alone.
MIN_CORRELATION_ROWS = 200


def correlation_shift(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], threshold: float
) -> CorrelationShift:
    """Per column, the largest |Δρ| (Spearman) with any other column, and with which.

    Per-feature drift tests compare each column's distribution alone; an upstream change of
    meaning (two fields swapped, a sign flipped) can leave every distribution as it was and
    still break how the columns relate, which the model learned. Pairs whose correlation is
    undefined on either side (a constant column) are left out rather than counted as a shift.
    """
    if len(columns) < 2 or min(len(reference), len(current)) < MIN_CORRELATION_ROWS:
        return CorrelationShift(threshold, [])
    before = reference[columns].astype(float).corr(method="spearman")
    after = current[columns].astype(float).corr(method="spearman")
    found = []
    for column in columns:
        best: ColumnShift | None = None
        for partner in columns:
            if partner == column:
                continue
            was = float(before.loc[column, partner])  # type: ignore[arg-type]
            now = float(after.loc[column, partner])  # type: ignore[arg-type]
            if was != was or now != now:  # NaN: undefined correlation
                continue
            shift = round(abs(now - was), 6)
            if best is None or shift > best.shift:
                best = ColumnShift(
                    column, partner, round(was, 6), round(now, 6), shift, shift >= threshold
                )
        if best is not None:
            found.append(best)
    return CorrelationShift(threshold, found)
