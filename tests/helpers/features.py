"""Helpers shared by several test files, unit and integration:
the ones tests/test_features.py held."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml.feature_spec import (
    FeatureSpec,
)
from ct_assets.ml.features import (
    with_row_ids,
)
from ct_assets.ml.frames import (
    ENTITY,
    ROW_ID,
    TIME,
)
from ct_assets.ml.schema import validate_batch
from ct_assets.project.load import PROJECT_FILE, deep_merge, read_spec
from ct_assets.project.spec import ProjectSpec
from tests.conftest import EXAMPLES

SHOP = read_spec(EXAMPLES / "shop" / PROJECT_FILE)


ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE)


def declared(example: str, changes: dict[str, Any]) -> ProjectSpec:
    """An example's declaration with some keys changed, validated again."""
    spec = SHOP if example == "shop" else ENERGY
    return ProjectSpec.model_validate(deep_merge(spec.model_dump(mode="json"), changes))


def validated(frame: pd.DataFrame, spec: ProjectSpec, batch_id: str) -> pd.DataFrame:
    """A delivered frame as the validated stage stores it: typed, with batch and row ids."""
    outcome = validate_batch(frame.copy(), f"{batch_id}.csv", spec)
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    return with_row_ids(outcome.frame, batch_id, spec)


def brute_force(events: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The definition, literally: for each event, loop over every other event."""
    rows = []
    records = events.to_dict("records")
    for event in records:
        values: dict[str, float] = {}
        for feature in spec.features:
            start = event[TIME] - feature.period
            window = [
                other
                for other in records
                if other[ENTITY] == event[ENTITY]
                and start <= other[TIME]
                and (other[TIME] <= event[TIME] if spec.inclusive else other[TIME] < event[TIME])
            ]
            window.sort(key=lambda o: (o[TIME], o[ROW_ID]))
            amounts = [o[feature.source] for o in window]
            agg = feature.aggregation
            if agg == "count":
                value = float(len(window))
            elif agg == "sum":
                value = float(sum(amounts))
            elif not window:
                value = math.nan
            elif agg == "mean":
                value = sum(amounts) / len(amounts)
            elif agg == "std":
                value = float(np.std(amounts, ddof=1)) if len(amounts) > 1 else math.nan
            elif agg == "min":
                value = min(amounts)
            elif agg == "max":
                value = max(amounts)
            elif agg == "last":
                value = amounts[-1]
            else:
                value = (event[TIME] - window[-1][TIME]).total_seconds()
            values[feature.name] = value
        rows.append(values)
    return pd.DataFrame(rows, index=events.index, columns=list(spec.names))


def assert_same(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast.columns) == list(slow.columns)
    for column in slow.columns:
        for i, (a, b) in enumerate(zip(fast[column], slow[column], strict=True)):
            if math.isnan(b):
                assert math.isnan(a), (column, i, a, b)
            else:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (column, i, a, b)


def meter_frame(**columns: list[Any]) -> pd.DataFrame:
    """Four energy readings as a meter sends them, with some columns replaced."""
    base: dict[str, list[Any]] = {
        # 2026-01-03 (a Saturday) 23:30 UTC, then 2026-01-04 05:00, 12:00 and 23:59 UTC.
        "timestamp": [1767483000, 1767502800, 1767528000, 1767571140],
        "temperature_c": [-30.0, 0.0, 12.5, 45.0],
        "humidity_pct": [50.0, None, 80.0, 100.0],
        "wind_kph": [10.0, 5.0, 0.0, 90.0],
        "is_holiday": ["false", "true", "FALSE", "True"],
        "weather": ["clear", "snow", "rain", "cloudy"],
        "occupancy": [0, 3, 120, 15],
        "load_kwh": [40.5, 41.0, 120.25, 60.0],
    }
    return pd.DataFrame({**base, **columns})
