"""Unit tests of ct_assets/ml/frames.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.features import (
    build_features,
    feature_set_id,
    key_columns,
)
from ct_assets.ml.frames import (
    BATCH,
    ENTITY,
    FEATURE_SET,
    LABEL,
    ROW_ID,
    TIME,
    slice_column,
)
from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource
from tests.helpers.features import ENERGY, SHOP, declared, meter_frame, validated


def test_the_shop_features_frame_has_keys_features_slices_label_and_set() -> None:
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=300, drift_day=100)
    raw = source.day(0)
    events = validated(raw, SHOP, "b0")
    rows = build_features(events, SHOP)
    assert key_columns(SHOP) == (ROW_ID, ENTITY, TIME, BATCH)
    assert list(rows.columns) == [
        *key_columns(SHOP),
        *SHOP.feature_names,
        *(slice_column(c) for c in SHOP.slice_columns),
        LABEL,
        FEATURE_SET,
    ]
    assert len(rows) == len(raw)
    assert rows[ROW_ID].tolist() == raw["event_id"].tolist()
    assert rows[ENTITY].tolist() == raw["entity_id"].tolist()
    assert (rows[BATCH] == "b0").all() and (rows[FEATURE_SET] == feature_set_id(SHOP)).all()
    assert rows[LABEL].tolist() == raw["label"].tolist()
    assert rows[slice_column("channel")].tolist() == raw["channel"].tolist()
    # Declared transforms, as defined.
    np.testing.assert_allclose(rows["log_amount"], np.log1p(raw["amount"]))
    np.testing.assert_allclose(rows["amount_per_item"], raw["amount"] / raw["n_items"])
    np.testing.assert_allclose(rows["log_account_age"], np.log1p(raw["account_age_days"]))
    times = pd.to_datetime(raw["event_time"], utc=True)
    assert rows["hour"].tolist() == times.dt.hour.astype(float).tolist()
    assert rows["day_of_week"].tolist() == times.dt.dayofweek.astype(float).tolist()
    # Categories are the codes of their declared order.
    assert rows["channel"].tolist() == [
        list(SHOP.column("channel").categories or []).index(c) for c in raw["channel"]
    ]
    assert set(SHOP.categorical_inputs) == {"channel", "country"}
    assert rows[list(SHOP.numeric_inputs)].dtypes.map(lambda d: d.kind == "f").all()


def test_every_energy_transform_is_computed_as_declared() -> None:
    raw = meter_frame()
    rows = build_features(validated(raw, ENERGY, "m0"), ENERGY)
    assert key_columns(ENERGY) == (ROW_ID, TIME, BATCH) and ENTITY not in rows.columns
    assert rows[ROW_ID].tolist() == ["m0:0", "m0:1", "m0:2", "m0:3"]
    assert list(rows[TIME]) == list(pd.to_datetime(raw["timestamp"], unit="s", utc=True))
    # clip
    assert rows["temperature_capped"].tolist() == [-20.0, 0.0, 12.5, 40.0]
    # log1p
    np.testing.assert_allclose(rows["log_occupancy"], np.log1p([0, 3, 120, 15]))
    # ratio, with a zero denominator missing rather than infinite
    ratio = rows["wind_per_degree"]
    assert ratio[0] == pytest.approx(10 / -30) and math.isnan(ratio[1])
    assert ratio[2] == 0.0 and ratio[3] == pytest.approx(2.0)
    assert not np.isinf(ratio).any()
    # hour and day of week, in UTC as declared
    assert rows["hour"].tolist() == [23.0, 5.0, 12.0, 23.0]
    assert rows["day_of_week"].tolist() == [5.0, 6.0, 6.0, 6.0]
    # columns as they are: a bool is 0/1, a nullable float keeps its gap
    assert rows["is_holiday"].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert math.isnan(rows["humidity_pct"][1]) and rows["humidity_pct"][3] == 100.0
    assert rows["weather"].tolist() == [0, 3, 2, 1]
    # A regression label is the value itself.
    assert rows[LABEL].dtype.kind == "f"
    assert rows[LABEL].tolist() == [40.5, 41.0, 120.25, 60.0]
    assert list(rows.columns) == [
        *key_columns(ENERGY),
        *ENERGY.feature_names,
        slice_column("weather"),
        LABEL,
        FEATURE_SET,
    ]


def test_hour_and_day_of_week_are_read_in_the_declared_timezone() -> None:
    zoned = declared(
        "energy", {"dataset": {"columns": {"timestamp": {"timezone": "America/New_York"}}}}
    )
    rows = build_features(validated(meter_frame(), zoned, "m0"), zoned)
    # Epoch seconds are absolute; New York is 5 hours behind UTC in January.
    assert rows["hour"].tolist() == [18.0, 0.0, 7.0, 18.0]
    assert rows["day_of_week"].tolist() == [5.0, 6.0, 6.0, 6.0]
    # The event time itself stays in UTC: partitions are cut in UTC.
    assert str(rows[TIME].dt.tz) == "UTC"
    assert rows[TIME].iloc[0] == pd.Timestamp("2026-01-03T23:30:00Z")


def test_a_day_of_the_energy_source_becomes_features() -> None:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=500, drift_day=100)
    raw = source.day(0)
    rows = build_features(validated(raw, ENERGY, "m0"), ENERGY)
    assert len(rows) == 500 and rows[ROW_ID].is_unique
    assert rows[TIME].is_monotonic_increasing
    assert rows[TIME].min() >= pd.Timestamp("2026-01-01", tz="UTC")
    assert rows[TIME].max() < pd.Timestamp("2026-01-02", tz="UTC")
    assert set(rows["weather"]) <= {0, 1, 2, 3}
    assert rows["humidity_pct"].isna().any() and not rows["temperature_c"].isna().any()
    np.testing.assert_allclose(rows[LABEL], raw["load_kwh"])
    assert rows[list(ENERGY.numeric_inputs)].dtypes.map(lambda d: d.kind == "f").all()
