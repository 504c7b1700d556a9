"""Drift: a shifted partition is flagged against the champion's window, an unshifted one is not."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from ct_assets.ml.drift import choose_reference, measure_drift, monitored
from ct_assets.ml.features import build_features
from ct_assets.observe import latest_check_passed, latest_metadata
from examples.energy.generator import MeterSource
from tests.conftest import Deployment
from tests.test_features import ENERGY, SHOP, declared, validated


def test_reference_is_the_champion_window_when_present() -> None:
    frames = {k: pd.DataFrame({"x": [1]}) for k in ("d1", "d2", "d3", "d4")}
    assert choose_reference(frames, "d4", ["d1", "d2"])[0] == ["d1", "d2"]
    assert choose_reference(frames, "d4", None)[0] == ["d1", "d2", "d3"]
    # The current partition is never its own reference, even if the champion saw it.
    assert choose_reference(frames, "d2", ["d1", "d2"])[0] == ["d1"]
    assert choose_reference(frames, "d1", None)[0] == []


def test_monitored_features_are_the_rows_own_less_what_is_constant_within_a_partition() -> None:
    numeric, categorical = monitored(SHOP)
    assert categorical == ["channel", "country"]
    assert numeric == ["n_items", "log_amount", "amount_per_item", "log_account_age", "hour"]
    assert "day_of_week" in SHOP.drift_excluded
    # Window features depend on how much history precedes a partition: never monitored.
    assert not set(numeric) & {f"{c}_{a}_{w}" for c, a, w in SHOP.window_features}
    energy_numeric, energy_categorical = monitored(ENERGY)
    assert energy_categorical == ["weather"]
    assert "is_holiday" in energy_numeric and "day_of_week" not in energy_numeric
    assert set(energy_numeric) == set(ENERGY.row_features) - {"weather", "day_of_week"}
    # In hourly partitions the hour is constant too; in weekly ones nothing is.
    hourly = declared("energy", {"partitions": {"granularity": "hourly"}})
    assert {"hour", "day_of_week"} <= set(hourly.drift_excluded)
    assert "hour" not in monitored(hourly)[0]
    weekly = declared("energy", {"partitions": {"granularity": "weekly"}})
    assert {"hour", "day_of_week"} <= set(monitored(weekly)[0])
    chosen = declared("energy", {"drift": {"exclude": ["wind_kph"]}})
    assert chosen.drift_excluded["wind_kph"] == "declared in drift.exclude"
    assert "wind_kph" not in monitored(chosen)[0]


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
