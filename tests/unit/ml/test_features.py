"""Unit tests of ct_assets/ml/features.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.features import (
    CODE_VERSION,
    UNKNOWN_CODE,
    FeatureReport,
    build_features,
    category_codes,
    feature_set_id,
    label_values,
    row_features,
    transform,
)
from ct_assets.ml.frames import (
    slice_column,
)
from ct_assets.project.load import PROJECT_FILE, read_spec
from tests.conftest import EXAMPLES
from tests.helpers.features import ENERGY, SHOP, declared, meter_frame, validated


def test_the_feature_set_id_follows_definitions_and_code() -> None:
    spec = SHOP
    assert spec.feature_set_id("1") == read_spec(EXAMPLES / "shop" / PROJECT_FILE).feature_set_id(
        "1"
    )
    assert spec.feature_set_id("1") != spec.feature_set_id("2")
    assert feature_set_id(spec) == spec.feature_set_id(CODE_VERSION)
    inclusive = declared("shop", {"features": {"windows": {"inclusive": True}}})
    assert spec.feature_set_id("1") != inclusive.feature_set_id("1")
    first, *rest = spec.model_dump(mode="json")["features"]["windows"]["aggregates"]
    fewer = declared(
        "shop",
        {
            "features": {
                "windows": {"aggregates": [{**first, "aggregations": ["sum", "mean"]}, *rest]}
            }
        },
    )
    assert len(fewer.feature_names) < len(spec.feature_names)
    assert spec.feature_set_id("1") != fewer.feature_set_id("1")
    # The declaration of a column a feature reads is part of the definitions...
    recoded = declared(
        "shop", {"dataset": {"columns": {"channel": {"categories": ["app", "web", "store"]}}}}
    )
    assert spec.feature_set_id("1") != recoded.feature_set_id("1")
    # ...what no feature reads is not.
    elsewhere = declared("shop", {"gates": {"margin": 0.05}, "training": {"window": 5}})
    assert spec.feature_set_id("1") == elsewhere.feature_set_id("1")


def test_log1p_of_a_value_at_or_below_minus_one_is_missing_not_minus_infinity() -> None:
    spec = declared(
        "energy",
        {
            "features": {
                "transforms": [
                    {"name": "log_temperature", "op": "log1p", "column": "temperature_c"}
                ]
            }
        },
    )
    (t,) = spec.features.transforms
    frame = pd.DataFrame({"temperature_c": [-2.0, -1.0, -0.5, 0.0, np.e - 1]})
    values = transform(frame, spec, t)
    assert math.isnan(values[0]) and math.isnan(values[1])
    assert values[2] == pytest.approx(math.log(0.5)) and values[3] == 0.0
    assert values[4] == pytest.approx(1.0)


def test_an_unseen_category_is_unknown_and_counted_when_declared_so() -> None:
    assert ENERGY.column("weather").unseen == "unknown"
    raw = meter_frame(weather=["fog", "clear", "hail", "fog"])
    report = FeatureReport()
    rows = build_features(validated(raw, ENERGY, "m0"), ENERGY, report=report)
    assert rows["weather"].tolist() == [UNKNOWN_CODE, 0, UNKNOWN_CODE, UNKNOWN_CODE]
    assert report.unseen == {"weather": {"rows": 3, "values": ["fog", "hail"]}}
    assert report.unseen_rows == 3
    # The slice keeps the value as delivered, so a slice metric can name it.
    assert rows[slice_column("weather")].tolist() == ["fog", "clear", "hail", "fog"]
    # Known values only: nothing to report.
    clean = FeatureReport()
    row_features(validated(meter_frame(), ENERGY, "m1"), ENERGY, clean)
    assert clean.unseen == {} and clean.unseen_rows == 0


def test_category_codes_follow_the_declared_order_and_mark_missing_and_unseen() -> None:
    values = pd.Series(["web", None, "store", "kiosk", "app", "kiosk"], dtype=object)
    codes, unseen = category_codes(values, ["web", "app", "store"])
    assert codes.tolist() == [0, UNKNOWN_CODE, 2, UNKNOWN_CODE, 1, UNKNOWN_CODE]
    # Missing is not unseen: only values outside the categories are.
    assert unseen.tolist() == ["kiosk", "kiosk"]


def test_label_values_are_0_1_for_binary_and_numbers_for_regression() -> None:
    shop = pd.DataFrame({"label": [0, 1, 1, 0]})
    assert label_values(shop, SHOP).tolist() == [0, 1, 1, 0]
    flipped = declared("shop", {"task": {"positive": 0}})
    assert label_values(shop, flipped).tolist() == [1, 0, 0, 1]
    energy = pd.DataFrame({"load_kwh": [1, 2.5]})
    assert label_values(energy, ENERGY).tolist() == [1.0, 2.5]
