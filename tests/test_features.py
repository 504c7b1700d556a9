"""Point-in-time window features against a brute-force loop over events."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ct_assets.ml.datagen import DriftingSource
from ct_assets.ml.feature_spec import (
    AGGREGATIONS,
    FeatureSpec,
    WindowFeature,
    default_spec,
    window_features,
)
from ct_assets.ml.features import build_features
from ct_assets.ml.schema import COUNTRIES
from ct_assets.ml.selection import SelectionConfig, dominant_value, select_features
from ct_assets.ml.training import predict_proba, train_family

START = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = FeatureSpec(
    features=tuple(
        WindowFeature("amount", aggregation, window)
        for window in ("30m", "1h", "1d")
        for aggregation in AGGREGATIONS
    )
)


def brute_force(events: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The definition, literally: for each event, loop over every other event."""
    rows = []
    records = events.to_dict("records")
    for event in records:
        values: dict[str, float] = {}
        for feature in spec.features:
            start = event["event_time"] - feature.period
            window = [
                other
                for other in records
                if other["entity_id"] == event["entity_id"]
                and start <= other["event_time"]
                and (
                    other["event_time"] <= event["event_time"]
                    if spec.inclusive
                    else other["event_time"] < event["event_time"]
                )
            ]
            window.sort(key=lambda o: (o["event_time"], o["event_id"]))
            amounts = [o["amount"] for o in window]
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
                value = (event["event_time"] - window[-1]["event_time"]).total_seconds()
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
    return pd.DataFrame(
        {
            "event_id": [f"e{i:03d}" for i in range(len(rows))],
            "entity_id": [r[0] for r in rows],
            "event_time": pd.to_datetime([START + timedelta(minutes=r[1]) for r in rows]),
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
    latest = events["event_time"].max()
    changed = events.copy()
    changed.loc[changed["event_time"] == latest, "amount"] += shift
    before, after = window_features(events, SPEC), window_features(changed, SPEC)
    earlier = events["event_time"] < latest
    pd.testing.assert_frame_equal(before[earlier], after[earlier])


def test_an_entity_seen_once_has_empty_windows() -> None:
    events = frame_of([("a", 0, 5.0)])
    (row,) = window_features(events, SPEC).to_dict("records")
    assert row["amount_count_1d"] == 0 and row["amount_sum_1d"] == 0
    assert all(math.isnan(row[f"amount_{agg}_1d"]) for agg in ("mean", "std", "last", "min"))


def test_the_feature_set_id_follows_definitions_and_code() -> None:
    spec = default_spec()
    assert spec.set_id("1") == default_spec().set_id("1")
    assert spec.set_id("1") != spec.set_id("2")
    assert spec.set_id("1") != FeatureSpec(spec.features, inclusive=True).set_id("1")
    assert spec.set_id("1") != FeatureSpec(spec.features[1:]).set_id("1")


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
    rows = build_features(
        pd.concat([source.day(0), source.day(1)], ignore_index=True).pipe(
            lambda f: f.assign(event_time=pd.to_datetime(f["event_time"], utc=True), batch_id="b")
        )
    )
    brazil, us = COUNTRIES.index("BR"), COUNTRIES.index("US")
    booster = train_family("lightgbm", rows[rows["country"] != brazil]).model
    seen = booster.dump_model()["feature_infos"]["country"]["values"]
    assert brazil not in seen and us in seen
    # A code never seen in training is treated like any other unseen one.
    held = rows[rows["country"] == brazil].head(50)
    assert np.allclose(
        predict_proba("lightgbm", booster, held),
        predict_proba("lightgbm", booster, held.assign(country=99)),
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
