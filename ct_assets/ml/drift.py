"""Data drift between a reference window and a partition, computed by Evidently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ct_assets.ingest.files import Location, write_object
from ct_assets.project.spec import ProjectSpec


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    method: str
    score: float
    threshold: float
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


def _drifted(method: str, score: float, threshold: float) -> bool:
    # Statistical tests report p-values (small means drift); distances report size (large means
    # drift). Evidently picks the method by column type and sample size.
    return score < threshold if "p_value" in method else score >= threshold


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


def measure_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    reference_partitions: list[str],
    numeric: list[str],
    categorical: list[str],
) -> tuple[DriftResult, Any]:
    """Per-feature drift and the share of drifted features; also returns Evidently's snapshot."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = [*numeric, *categorical]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset(columns=columns)]).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    features = []
    share = 0.0
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config["type"].endswith("ValueDrift"):
            score, threshold = float(metric["value"]), float(config["threshold"])
            features.append(
                FeatureDrift(
                    config["column"],
                    config["method"],
                    round(score, 6),
                    threshold,
                    _drifted(config["method"], score, threshold),
                )
            )
    result = DriftResult(reference_partitions, len(reference), len(current), share, features)
    return result, snapshot


def save_report(snapshot: Any, path: Location) -> Location:
    """Evidently's HTML report, written whole or not at all."""
    return write_object(path, snapshot.get_html_str(as_iframe=False).encode())


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
