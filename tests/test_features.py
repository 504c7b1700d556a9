"""Point-in-time window features against a brute-force loop over events, and every declared
feature computed as ct.yaml defines it, on the shop and the energy example."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
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
from ct_assets.ml.features import (
    CODE_VERSION,
    UNKNOWN_CODE,
    FeatureReport,
    build_features,
    category_codes,
    feature_set_id,
    key_columns,
    label_values,
    row_features,
    transform,
    with_row_ids,
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
from ct_assets.ml.schema import validate_batch
from ct_assets.ml.selection import SelectionConfig, dominant_value, select_features
from ct_assets.ml.training import Inputs, predict, train_family
from ct_assets.project.load import PROJECT_FILE, deep_merge, read_spec
from ct_assets.project.spec import ProjectSpec
from examples.energy.generator import MeterSource
from examples.shop.generator import COUNTRIES, DriftingSource
from tests.conftest import EXAMPLES

START = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = FeatureSpec(
    features=tuple(
        WindowFeature("amount", aggregation, window)
        for window in ("30m", "1h", "1d")
        for aggregation in AGGREGATIONS
    )
)
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


def test_bad_definitions_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"amount_median_1d.*not one of"):
        WindowFeature("amount", "median", "1d")
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        WindowFeature("amount", "sum", "soon")
    with pytest.raises(ValueError, match="defined twice"):
        FeatureSpec((WindowFeature("amount", "sum", "1d"), WindowFeature("amount", "sum", "1d")))


def test_selection_drops_constant_near_constant_and_mostly_null_features_with_reasons() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    train = pd.DataFrame(
        {
            "useful": rng.normal(size=n),
            "constant": np.ones(n),
            "near_constant": np.r_[np.zeros(n - 2), [1.0, 2.0]],
            "mostly_null": np.r_[rng.normal(size=10), np.full(n - 10, np.nan)],
            "weak": rng.normal(size=n),
        }
    )
    names = list(train.columns)
    chosen = select_features(train, names, SelectionConfig())
    assert chosen.kept == ["useful", "weak"]
    assert chosen.dropped["constant"] == "constant"
    assert chosen.dropped["near_constant"].startswith("near-constant (99.80%")
    assert chosen.dropped["mostly_null"].startswith("mostly null (99.0%")
    ranked = select_features(
        train, names, SelectionConfig(top_k=1), importance={"useful": 9.0, "weak": 1.0}
    )
    assert ranked.kept == ["useful"] and "top 1" in ranked.dropped["weak"]
    assert select_features(train, names, SelectionConfig(enabled=False)).kept == names


def test_categories_are_learned_on_the_training_rows_only() -> None:
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=2000, drift_day=100)
    events = validated(pd.concat([source.day(0), source.day(1)], ignore_index=True), SHOP, "b")
    rows = build_features(events, SHOP)
    countries = list(SHOP.column("country").categories or [])
    assert tuple(countries) == COUNTRIES
    brazil, us = countries.index("BR"), countries.index("US")
    inputs = Inputs(SHOP.task.type, SHOP.feature_names, SHOP.categorical_inputs)
    booster = train_family("lightgbm", rows[rows["country"] != brazil], inputs).model
    seen = booster.dump_model()["feature_infos"]["country"]["values"]
    assert brazil not in seen and us in seen
    # A code never seen in training is treated like any other unseen one.
    held = rows[rows["country"] == brazil].head(50)
    assert np.allclose(
        predict("lightgbm", booster, held),
        predict("lightgbm", booster, held.assign(country=99)),
    )


@pytest.mark.parametrize("share", [0.5001, 0.9, 0.995, 1.0])
def test_the_dominant_value_by_selection_agrees_with_counting(share: float) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    held = int(n * share)
    column = pd.Series(np.r_[np.full(held, 3.25), rng.normal(size=n - held), [np.nan] * 50])
    column = column.sample(frac=1.0, random_state=1)
    value, found = dominant_value(column, 0.6)
    counts = column.value_counts()
    assert value == 3.25 and found == pytest.approx(counts.iloc[0] / counts.sum())


# -- every declared feature, as defined, on frames of each example's shape ----------------------


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
