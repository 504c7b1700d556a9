"""Drift: a shifted partition is flagged against the champion's window, an unshifted one is not."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ct_assets.ml.datagen import DriftingSource
from ct_assets.ml.drift import choose_reference
from ct_assets.observe import latest_check_passed, latest_metadata
from tests.conftest import Project


def test_reference_is_the_champion_window_when_present() -> None:
    frames = {k: pd.DataFrame({"x": [1]}) for k in ("d1", "d2", "d3", "d4")}
    assert choose_reference(frames, "d4", ["d1", "d2"])[0] == ["d1", "d2"]
    assert choose_reference(frames, "d4", None)[0] == ["d1", "d2", "d3"]
    # The current partition is never its own reference, even if the champion saw it.
    assert choose_reference(frames, "d2", ["d1", "d2"])[0] == ["d1"]
    assert choose_reference(frames, "d1", None)[0] == []


def shifted(source: DriftingSource, index: int) -> pd.DataFrame:
    """A day whose inputs moved: bigger baskets, mostly app traffic, new accounts."""
    frame = source.day(index)
    frame["amount"] = (frame["amount"] * 4).round(2)
    frame["channel"] = "app"
    frame["account_age_days"] = (frame["account_age_days"] / 20).round(1)
    return frame


def test_a_shifted_partition_is_flagged_and_an_unshifted_one_is_not(project: Project) -> None:
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
    assert report.parent == project.settings.data_dir / "drift_reports"
    stored = json.loads(
        (project.settings.data_dir / "feature_drift" / f"{project.partition(3)}.json").read_text()
    )
    assert stored["drift_share"] == moved["drift_share"]
    monitored = {f["feature"] for f in stored["features"]}
    assert len(monitored) == 8 and "day_of_week" not in monitored


def test_the_first_partition_has_no_reference(project: Project) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    first = latest_metadata(project.instance, "feature_drift", project.partition(0))
    assert first is not None and first["drift_share"] == 0.0
