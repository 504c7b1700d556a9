"""Unit tests of ct_assets/ml/feature_spec.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ct_assets.ml.feature_spec import (
    AGGREGATIONS,
    FeatureSpec,
    WindowFeature,
    window_features,
    window_spec,
)
from ct_assets.ml.frames import (
    ENTITY,
    ROW_ID,
    TIME,
)
from tests.helpers.features import ENERGY, SHOP, assert_same, brute_force, declared

START = datetime(2026, 1, 1, tzinfo=UTC)


SPEC = FeatureSpec(
    features=tuple(
        WindowFeature("amount", aggregation, window)
        for window in ("30m", "1h", "1d")
        for aggregation in AGGREGATIONS
    )
)


events_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        # Minutes on a coarse grid: ties in time and events exactly one window apart are common.
        st.integers(min_value=0, max_value=60 * 30).map(lambda m: m - m % 15),
        st.floats(min_value=0, max_value=1000, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=40,
)


def frame_of(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    """Events in the canonical columns window features read."""
    return pd.DataFrame(
        {
            ROW_ID: [f"e{i:03d}" for i in range(len(rows))],
            ENTITY: [r[0] for r in rows],
            TIME: pd.to_datetime([START + timedelta(minutes=r[1]) for r in rows]),
            "amount": [r[2] for r in rows],
        }
    )


@settings(max_examples=150, deadline=None)
@given(rows=events_strategy, inclusive=st.booleans())
def test_window_features_equal_the_brute_force_definition(
    rows: list[tuple[str, int, float]], inclusive: bool
) -> None:
    events = frame_of(rows)
    spec = FeatureSpec(features=SPEC.features, inclusive=inclusive)
    assert_same(window_features(events, spec), brute_force(events, spec))


@settings(max_examples=60, deadline=None)
@given(rows=events_strategy, shift=st.floats(min_value=-500, max_value=500))
def test_changing_a_later_event_changes_no_earlier_feature(
    rows: list[tuple[str, int, float]], shift: float
) -> None:
    events = frame_of(rows)
    latest = events[TIME].max()
    changed = events.copy()
    changed.loc[changed[TIME] == latest, "amount"] += shift
    before, after = window_features(events, SPEC), window_features(changed, SPEC)
    earlier = events[TIME] < latest
    pd.testing.assert_frame_equal(before[earlier], after[earlier])


def test_an_entity_seen_once_has_empty_windows() -> None:
    events = frame_of([("a", 0, 5.0)])
    (row,) = window_features(events, SPEC).to_dict("records")
    assert row["amount_count_1d"] == 0 and row["amount_sum_1d"] == 0
    assert all(math.isnan(row[f"amount_{agg}_1d"]) for agg in ("mean", "std", "last", "min"))


def test_the_declared_windows_are_the_window_spec() -> None:
    windows = window_spec(SHOP)
    assert windows.names == tuple(f"{c}_{a}_{w}" for c, a, w in SHOP.window_features)
    assert set(windows.names) <= set(SHOP.feature_names)
    assert windows.inclusive is False and windows.lookback == timedelta(days=7)
    assert (windows.entity, windows.time, windows.order_by) == (ENTITY, TIME, ROW_ID)
    assert window_spec(declared("shop", {"features": {"windows": {"inclusive": True}}})).inclusive
    # No entity, no windows: the energy example's features are its rows' own.
    assert window_spec(ENERGY).features == () and ENERGY.feature_names == ENERGY.row_features


def test_bad_definitions_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"amount_median_1d.*not one of"):
        WindowFeature("amount", "median", "1d")
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        WindowFeature("amount", "sum", "soon")
    with pytest.raises(ValueError, match="defined twice"):
        FeatureSpec((WindowFeature("amount", "sum", "1d"), WindowFeature("amount", "sum", "1d")))
