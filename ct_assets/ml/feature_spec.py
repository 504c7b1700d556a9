"""Window features: the point-in-time computation derived from the declared windows.

A window feature is (source column, aggregation, window); for every event it aggregates the
same entity's events strictly before the event's own time (or, when `inclusive`, at or before
it, the event itself included), within the window. Both the offline features and the online
vectors are computed from these definitions, declared in the project's `features.windows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import pandas as pd
import polars as pl

from ct_assets.ml.frames import ENTITY, ROW_ID, TIME
from ct_assets.project.spec import AGGREGATIONS, ProjectSpec


@dataclass(frozen=True)
class WindowFeature:
    source: str
    aggregation: str
    window: str

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(
                f"feature {self.name}: aggregation {self.aggregation!r} is not one of "
                f"{', '.join(AGGREGATIONS)}"
            )
        if self.period <= timedelta(0):
            raise ValueError(f"feature {self.name}: window {self.window!r} must be positive")

    @property
    def name(self) -> str:
        return f"{self.source}_{self.aggregation}_{self.window}"

    @property
    def period(self) -> timedelta:
        try:
            return pd.Timedelta(self.window).to_pytimedelta()
        except ValueError as exc:
            raise ValueError(f"window {self.window!r} is not a duration like 1h, 1d or 7d") from exc


@dataclass(frozen=True)
class FeatureSpec:
    """The window features of a pipeline, keyed by entity and ordered by event time."""

    features: tuple[WindowFeature, ...]
    entity: str = ENTITY
    time: str = TIME
    # Ties: an event at exactly the same time as this one is "before" it only when inclusive.
    inclusive: bool = False
    # Deterministic order among events at the same time (for `last`).
    order_by: str = ROW_ID
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(f.name for f in self.features)
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"feature names defined twice: {duplicated}")
        object.__setattr__(self, "names", names)

    @property
    def lookback(self) -> timedelta:
        """How far back in time the longest window reads."""
        return max((f.period for f in self.features), default=timedelta(0))


class FeatureSetMismatch(ValueError):
    """A model meets features computed from other definitions than those it was trained on."""


def check_feature_set(model_set: str | None, features_set: str, what: str) -> None:
    """Refuse to score `what` (a model version) on features of another feature set."""
    if model_set != features_set:
        raise FeatureSetMismatch(
            f"{what} was trained on feature set {model_set or 'unknown'}; the features offered "
            f"are of feature set {features_set}: refusing to score it on them"
        )


def _aggregate(feature: WindowFeature, time: str) -> pl.Expr:
    column = pl.col(feature.source)
    if feature.aggregation == "count":
        expr = pl.len()
    elif feature.aggregation == "time_since_last":
        # Seconds back to the latest earlier event in the window; the subtraction happens after.
        expr = pl.col(time).max()
    else:
        expr = getattr(column, feature.aggregation)()
    return expr.alias(feature.name)


def window_features(events: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The spec's window features for every event, in the events' own row order.

    Polars' grouped rolling windows do the work: `closed="left"` is exactly "strictly before
    the event's time" (ties excluded), `closed="both"` is "at or before" (the event included).
    """
    sources = sorted({f.source for f in spec.features if f.aggregation != "count"} - {spec.time})
    keep = [spec.entity, spec.time, spec.order_by, *sources]
    frame = (
        pl.from_pandas(events[keep].reset_index(drop=True))
        .with_row_index("_row")
        .with_columns(pl.col(c).cast(pl.Float64) for c in sources)
        .sort([spec.entity, spec.time, spec.order_by], maintain_order=True)
    )
    closed: Literal["both", "left"] = "both" if spec.inclusive else "left"
    columns: list[pl.Series] = []
    by_window: dict[str, list[WindowFeature]] = {}
    for feature in spec.features:
        by_window.setdefault(feature.window, []).append(feature)
    for features in by_window.values():
        period = f"{int(features[0].period.total_seconds() * 1_000_000)}us"
        rolled = frame.rolling(
            index_column=spec.time, period=period, group_by=spec.entity, closed=closed
        ).agg(_aggregate(f, spec.time) for f in features)
        for feature in features:
            values = rolled[feature.name]
            if feature.aggregation == "time_since_last":
                values = (frame[spec.time] - values).dt.total_microseconds() / 1_000_000
            elif feature.aggregation == "count":
                values = values.cast(pl.Float64)
            columns.append(values.alias(feature.name))
    out = pl.DataFrame([frame["_row"], *columns]).sort("_row").drop("_row")
    return out.to_pandas().set_axis(events.index)


def window_spec(spec: ProjectSpec) -> FeatureSpec:
    """The declared window features, over the frames' canonical entity, time and row id."""
    return FeatureSpec(
        features=tuple(WindowFeature(*f) for f in spec.window_features),
        inclusive=spec.features.windows.inclusive,
    )
