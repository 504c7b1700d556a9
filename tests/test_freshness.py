"""Freshness per source: overdue sources raise one alert (log and webhook), and one on recovery."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from ct_assets.definitions import build_definitions
from ct_assets.raw import source_key
from ct_assets.settings import PipelineSettings
from sensors.freshness import (
    FAIL,
    PASS,
    UNKNOWN,
    WARN,
    build_freshness_sensor,
    freshness_state,
    transitions,
)
from tests.services import Webhook

WARN_AFTER, FAIL_AFTER = timedelta(hours=26), timedelta(hours=36)


@pytest.mark.parametrize(
    ("age_hours", "state"),
    [(None, UNKNOWN), (0, PASS), (25.9, PASS), (26, WARN), (35.9, WARN), (36, FAIL), (100, FAIL)],
)
def test_freshness_state_follows_the_time_window_policy(age_hours, state) -> None:
    now = 1_000_000.0
    last = None if age_hours is None else now - age_hours * 3600
    assert freshness_state(last, now, WARN_AFTER, FAIL_AFTER) == state


def test_only_changes_into_overdue_or_back_are_alerts() -> None:
    before = {"a": PASS, "b": WARN, "c": FAIL, "d": WARN}
    now = {"a": WARN, "b": WARN, "c": PASS, "d": FAIL, "e": UNKNOWN}
    assert transitions(before, now) == {"a": WARN, "c": PASS, "d": FAIL}


def test_a_source_that_stops_delivering_alerts_once_then_recovers(
    settings: PipelineSettings,
    tmp_path: Path,
    webhook: tuple[str, Webhook],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, hook = webhook
    monkeypatch.setenv("CT_ALERT_WEBHOOK_URL", url)
    defs = build_definitions(settings)
    # The sensor's clock is the one thing faked: it runs a day and a half ahead on demand.
    ahead = [0.0]
    sensor = build_freshness_sensor(settings, clock=lambda: time.time() + ahead[0])
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:

        def tick(cursor: str | None) -> str:
            context = dg.build_sensor_context(
                instance=instance,
                cursor=cursor,
                definitions=defs,
                resources={"alerts": defs.resources["alerts"]},
            )
            result = sensor.evaluate_tick(context)
            assert result.cursor is not None
            return result.cursor

        delivered = dg.AssetMaterialization(asset_key=source_key("file_drop"))
        instance.report_runless_asset_event(delivered)
        cursor = tick(None)
        assert hook.received == []

        ahead[0] = FAIL_AFTER.total_seconds() + 60
        cursor = tick(cursor)
        (alert,) = hook.received
        assert alert["asset"] == "sources/file_drop" and alert["state"] == FAIL
        assert "sources/file_drop is overdue (fail)" in alert["text"]

        cursor = tick(cursor)
        assert len(hook.received) == 1  # still overdue: no repeat

        ahead[0] = 0.0
        instance.report_runless_asset_event(delivered)
        tick(cursor)
        assert hook.received[-1]["state"] == PASS and "recovered" in hook.received[-1]["text"]
