"""Drift: a shifted partition is flagged against the champion's window, an unshifted one is not.

Verdicts are on effect sizes: the weather's ordinary days do not flag, a reassigned column does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from ct_assets.definitions import build_definitions
from ct_assets.ingest.files import atomic_write
from ct_assets.ml.drift import (
    measure_drift,
    monitored,
)
from ct_assets.ml.features import build_features
from ct_assets.project.load import PROJECT_FILE, load_project
from ct_assets.project.spec import CategoricalDrift, Drift, NumericDrift, ProjectSpec
from ct_assets.reads.observe import latest_check_passed, latest_metadata
from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource
from tests.conftest import START, Deployment
from tests.helpers.features import ENERGY, SHOP, validated
from tests.weather import (
    PROJECT,
    SeasonalWeather,
    abrupt_shift,
    in_fahrenheit,
    reassigned,
    recoded,
)

WEATHER = ProjectSpec.model_validate(PROJECT)


SOURCE = SeasonalWeather(rows_per_day=400)


WINDOW = 7  # reference: the seven partitions before, as a champion trained on the last week


@cache
def weather_features(index: int) -> pd.DataFrame:
    return weather_frame(index, SOURCE.day(index))


def weather_frame(index: int, raw: pd.DataFrame) -> pd.DataFrame:
    return build_features(validated(raw, WEATHER, f"w{index}"), WEATHER)


def weather_reference(index: int) -> pd.DataFrame:
    return pd.concat([weather_features(k) for k in range(index - WINDOW, index)], ignore_index=True)


def weather_drift(index: int, current: pd.DataFrame) -> Any:
    numeric, categorical = monitored(WEATHER)
    reference = weather_reference(index)
    return measure_drift(reference, current, [], numeric, categorical, WEATHER.drift)[0]


@cache
def ordinary_drift(index: int) -> Any:
    return weather_drift(index, weather_features(index))


def shifted(source: Any, index: int) -> pd.DataFrame:
    """A day whose inputs moved: bigger baskets, mostly app traffic, new accounts."""
    frame = source.day(index)
    frame["amount"] = (frame["amount"] * 4).round(2)
    frame["channel"] = "app"
    frame["account_age_days"] = (frame["account_age_days"] / 20).round(1)
    return frame


def test_a_shifted_partition_is_flagged_and_an_unshifted_one_is_not(project: Deployment) -> None:
    project.source = replace(project.source, rows_per_day=1200)
    for index in range(2):
        project.drop_day(index)
        assert project.materialize(project.partition(index)).success
    project.drop_day(2)
    assert project.materialize(project.partition(2)).success
    project.drop_day(3, shifted(project.source, 3))
    assert project.materialize(project.partition(3)).success

    calm = latest_metadata(project.instance, "feature_drift", project.partition(2))
    moved = latest_metadata(project.instance, "feature_drift", project.partition(3))
    assert calm is not None and moved is not None
    assert calm["drift_share"] < 0.5 <= moved["drift_share"]
    assert {"log_amount", "channel", "log_account_age"} <= set(
        moved["drifted_features"].split(", ")
    )
    assert "champion's training window" in moved["reference"]
    check = "drift_share_below_threshold"
    assert latest_check_passed(project.instance, "feature_drift", check, project.partition(2))
    assert (
        latest_check_passed(project.instance, "feature_drift", check, project.partition(3)) is False
    )

    report = Path(moved["report"])
    assert report.exists() and report.stat().st_size > 10_000
    assert report.parent == project.data_dir / "drift_reports"
    stored = json.loads(
        (project.data_dir / "feature_drift" / f"{project.partition(3)}.json").read_text()
    )
    assert stored["drift_share"] == moved["drift_share"]
    measured = {f["feature"] for f in stored["features"]}
    numeric, categorical = monitored(project.spec)
    assert measured == {*numeric, *categorical}
    assert measured == set(project.spec.row_features) - {"day_of_week"}
    assert len(measured) == 7 and "day_of_week" not in measured


def test_the_first_partition_has_no_reference(project: Deployment) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    first = latest_metadata(project.instance, "feature_drift", project.partition(0))
    assert first is not None and first["drift_share"] == 0.0


def test_drift_is_measured_on_a_regression_dataset_with_booleans_and_epoch_times() -> None:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=1000, drift_day=100)

    def features(index: int, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        raw = source.day(index) if frame is None else frame
        return build_features(validated(raw, ENERGY, f"m{index}"), ENERGY)

    reference = pd.concat([features(0), features(1)], ignore_index=True)
    numeric, categorical = monitored(ENERGY)
    calm, _ = measure_drift(reference, features(2), ["d0", "d1"], numeric, categorical)
    hot = source.day(3)
    hot["temperature_c"] = (hot["temperature_c"] + 25).round(1)
    hot["weather"] = "snow"
    moved, snapshot = measure_drift(reference, features(3, hot), ["d0", "d1"], numeric, categorical)
    assert {f.feature for f in moved.features} == {*numeric, *categorical}
    assert moved.reference_rows == 2000 and moved.current_rows == 1000
    assert {"temperature_c", "temperature_capped", "weather"} <= set(moved.drifted_features)
    assert not {"temperature_c", "weather"} & set(calm.drifted_features)
    assert calm.drift_share < moved.drift_share
    assert moved.as_dict()["drifted_features"] == moved.drifted_features
    assert snapshot is not None


# -- the seasonal weather: natural drift at a few hundred rows a day ---------------------------


def p_value_share(index: int) -> float:
    """The share of features a test flags at p < 0.05 (KS for numbers, chi-square for
    categories): what drift judged on significance alone says of the same day."""
    numeric, categorical = monitored(WEATHER)
    reference, current = weather_reference(index), weather_features(index)
    flagged = [stats.ks_2samp(reference[c], current[c]).pvalue < 0.05 for c in numeric]
    for c in categorical:
        table = pd.crosstab(
            np.r_[np.zeros(len(reference)), np.ones(len(current))],
            np.r_[reference[c].to_numpy(), current[c].to_numpy()],
        )
        flagged.append(stats.chi2_contingency(table).pvalue < 0.05)
    return float(np.mean(flagged))


# Two weeks of spring after a first week of reference (bench/drift_calibration.py runs months).
ORDINARY_DAYS = range(WINDOW, WINDOW + 14)


def test_ordinary_weather_days_stay_under_the_share_though_p_values_flag_them() -> None:
    shares = [ordinary_drift(day).drift_share for day in ORDINARY_DAYS]
    assert max(shares) < WEATHER.drift.threshold, shares
    # The same days move enough that significance alone flags most of them: the weather
    # drifts for real, only not by enough to matter.
    flagged_by_p = [p_value_share(day) >= WEATHER.drift.threshold for day in ORDINARY_DAYS]
    assert sum(flagged_by_p) > len(ORDINARY_DAYS) // 2, flagged_by_p


# Upstream changes, each to its own column, as exports break: (change, the column it hits).
CHANGES = {
    "temperature in °F": (in_fahrenheit, "temperature_c"),
    "humidity filled with the temperature": (
        lambda f: reassigned(f, "humidity_pct", "temperature_c").assign(
            humidity_pct=lambda d: d["humidity_pct"].clip(0, 100)
        ),
        "humidity_pct",
    ),
    "wind in m/s": (lambda f: f.assign(wind_kph=(f["wind_kph"] / 3.6).round(1)), "wind_kph"),
    "pressure in kPa": (
        lambda f: f.assign(pressure_hpa=(f["pressure_hpa"] / 10).round(2)),
        "pressure_hpa",
    ),
    "condition recoded": (
        lambda f: recoded(
            f, "condition", {"clear": "CLR", "cloudy": "OVC", "rain": "RA", "snow": "SN"}
        ),
        "condition",
    ),
}


@pytest.mark.parametrize("day", [WINDOW, WINDOW + 6, WINDOW + 13])
def test_a_reassigned_column_is_flagged_on_the_day_it_lands(day: int) -> None:
    # Each change hits its own column and each column is judged alone, so one partition
    # carries all of them.
    raw = SOURCE.day(day)
    for apply, _ in CHANGES.values():
        raw = apply(raw)
    moved = weather_drift(day, weather_frame(day, raw))
    for change, (_, column) in CHANGES.items():
        assert column in moved.drifted_features, (change, moved.features)
        before, after = (
            next(f for f in r.features if f.feature == column) for r in (ordinary_drift(day), moved)
        )
        assert after.effect >= max(after.threshold, after.noise_floor)
        assert after.effect > before.effect, change
    untouched = {c for _, c in CHANGES.values()} ^ {f.feature for f in moved.features}
    assert {f.feature for f in moved.features if f.feature in untouched and f.drifted} == {
        f.feature for f in ordinary_drift(day).features if f.feature in untouched and f.drifted
    }


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_a_tiny_partition_is_not_flagged_by_its_own_noise() -> None:
    # An hour's worth of rows: noise alone moves D past 0.3, the floor keeps it from counting.
    small = SeasonalWeather(rows_per_day=25)
    numeric, categorical = monitored(WEATHER)
    days = {i: weather_frame(i, small.day(i)) for i in range(WINDOW + 3)}
    reached = []
    for day in range(WINDOW, WINDOW + 3):
        reference = pd.concat([days[i] for i in range(day - WINDOW, day)], ignore_index=True)
        result, _ = measure_drift(reference, days[day], [], numeric, categorical, WEATHER.drift)
        assert all(f.noise_floor > f.threshold for f in result.features)
        assert result.drift_share < WEATHER.drift.threshold
        reached += [f.feature for f in result.features if f.effect >= f.threshold]
    # Without the floor these would have counted.
    assert reached


@pytest.mark.parametrize(
    ("numeric_method", "categorical_method"),
    [("ks", "tvd"), ("wasserstein", "psi"), ("psi", "jensenshannon"), ("jensenshannon", "tvd")],
)
def test_every_method_runs_and_ct_agrees_with_evidentlys_own_count(
    numeric_method: str, categorical_method: str
) -> None:
    numeric, categorical = monitored(WEATHER)
    rules = Drift(
        numeric=NumericDrift(method=numeric_method, threshold=0.2),
        categorical=CategoricalDrift(method=categorical_method, threshold=0.2),
    )
    current = weather_frame(WINDOW, in_fahrenheit(SOURCE.day(WINDOW)))
    result, snapshot = measure_drift(
        weather_reference(WINDOW), current, [], numeric, categorical, rules
    )
    assert {f.method for f in result.features} == {numeric_method, categorical_method}
    assert "temperature_c" in result.drifted_features
    (count,) = [
        m["value"]
        for m in snapshot.dict()["metrics"]
        if m["config"]["type"].endswith("DriftedColumnsCount")
    ]
    # The report and ct judge the same columns drifted.
    assert count["count"] == len(result.drifted_features)
    assert count["share"] == pytest.approx(result.drift_share)


# -- the pipeline, on real files -----------------------------------------------------------------


def test_feature_drift_shows_method_effect_threshold_and_verdict_per_feature(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    root = tmp_path / "weather"
    (root / "landing").mkdir(parents=True)
    declared = {
        **PROJECT,
        "partitions": {"granularity": "daily", "start": START.isoformat()},
        "sources": {"landing": "landing", "poll_interval": "1s"},
    }
    (root / PROJECT_FILE).write_text(yaml.safe_dump(declared, sort_keys=False))
    project = load_project(root, environ={})
    source = SeasonalWeather(start=START, rows_per_day=400)
    weather = Deployment(project, build_definitions(project), dagster_instance, source)
    upstream = " or ".join(
        f'key:"{a}"' for a in ("raw_batches", "validated_batches", "features", "feature_drift")
    )
    # No champion here: each partition is judged against every earlier one.
    last = 4
    for index in range(last + 1):
        frame = source.day(index)
        if index == last:
            frame = in_fahrenheit(frame)
        path = project.landing_dir / source.day_name(index)
        atomic_write(path, lambda tmp, frame=frame: frame.to_csv(tmp, index=False))
        assert weather.materialize(weather.partition(index), upstream).success

    check = "drift_share_below_threshold"
    ordinary = latest_metadata(weather.instance, "feature_drift", weather.partition(last - 1))
    moved = latest_metadata(weather.instance, "feature_drift", weather.partition(last))
    assert ordinary is not None and moved is not None
    assert ordinary["drift_share"] < project.spec.drift.threshold
    assert "temperature_c" not in ordinary["drifted_features"]
    assert latest_check_passed(
        weather.instance, "feature_drift", check, weather.partition(last - 1)
    )
    # The reassigned column is named on the day it lands; alone it is no partition-wide drift.
    assert "temperature_c" in moved["drifted_features"].split(", ")
    assert moved["drift_share"] < project.spec.drift.threshold
    assert "K-S statistic (D)" in moved["judged_by"] and "0.3" in moved["judged_by"]
    table = moved["per_feature"]
    header = table.splitlines()[0]
    for column in ("feature", "kind", "method", "effect", "threshold", "noise floor", "drifted"):
        assert f" {column} " in header
    row = next(r for r in table.splitlines() if r.startswith("| temperature_c "))
    assert "| ks " in row and "True" in row
    stored = json.loads(
        (project.data_dir / "feature_drift" / f"{weather.partition(last)}.json").read_text()
    )
    measured = {f["feature"]: f for f in stored["features"]}
    assert measured["temperature_c"]["effect"] > 0.9 and measured["temperature_c"]["drifted"]
    assert measured["condition"]["method"] == "tvd"
    assert stored["reference_partitions"] == [weather.partition(i) for i in range(last)]


# Evidently's correlations divide by the spread of a column the shift made constant.
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
@pytest.mark.parametrize("day", [WINDOW, WINDOW + 13])
def test_an_abrupt_shift_of_most_features_flags_the_partition(day: int) -> None:
    moved = weather_drift(day, weather_frame(day, abrupt_shift(SOURCE.day(day))))
    assert moved.drift_share >= WEATHER.drift.threshold, moved.drifted_features
    assert ordinary_drift(day).drift_share < WEATHER.drift.threshold


def test_the_shop_campaign_on_its_drift_day_still_flags_the_partition() -> None:
    # The shop declares 0.1 (its days are stable); its campaign moves four of seven features.
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=1500, drift_day=3)
    numeric, categorical = monitored(SHOP)
    days = [build_features(validated(source.day(i), SHOP, f"s{i}"), SHOP) for i in range(4)]
    reference = pd.concat(days[:3], ignore_index=True)
    calm, _ = measure_drift(
        pd.concat(days[:2], ignore_index=True), days[2], [], numeric, categorical, SHOP.drift
    )
    moved, _ = measure_drift(reference, days[3], [], numeric, categorical, SHOP.drift)
    assert calm.drift_share == 0.0, calm.features
    assert moved.drift_share >= SHOP.drift.threshold
    assert {"log_amount", "amount_per_item", "log_account_age", "channel"} <= set(
        moved.drifted_features
    )
