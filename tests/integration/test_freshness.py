"""Freshness per source: overdue sources raise one alert (log and webhook), and one on recovery."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from ct_assets.definitions import build_definitions
from ct_assets.names import FILE_DROP, RAW_BATCHES, VALIDATED_BATCHES, source_key
from ct_assets.project.load import load_project
from ct_assets.project.spec import parse_duration
from sensors.freshness import (
    FAIL,
    PASS,
    build_freshness_sensor,
    watched_assets,
)
from tests.conftest import Deployment
from tests.helpers.freshness import FAIL_AFTER, WARN_AFTER
from tests.services import Webhook


def test_the_default_windows_are_the_policy_above(project: Deployment) -> None:
    window = project.spec.freshness.sources
    assert (parse_duration(window.warn), parse_duration(window.fail)) == (WARN_AFTER, FAIL_AFTER)


def test_windows_and_watched_sources_come_from_the_project(project: Deployment) -> None:
    overridden = load_project(
        project.root,
        environ={"CT_SOURCE_FRESHNESS_WARN": "2h", "CT_SOURCE_FRESHNESS_FAIL": "3h"},
    )
    window = overridden.spec.freshness.sources
    assert (window.warn, window.fail) == ("2h", "3h")
    assert set(watched_assets(project.project)) == {
        f"sources/{FILE_DROP}",
        RAW_BATCHES,
        VALIDATED_BATCHES,
    }
    project.reconfigure({"sources": {"sql": {}, "http_api": {}}})
    assert watched_assets(project.project)["sources/sql_table"] == source_key("sql_table")
    assert watched_assets(project.project)["sources/http_api"] == source_key("http_api")


@pytest.mark.parametrize(
    ("example", "windows"),
    [("shop", None), ("energy", None), ("shop", ("2h", "3h")), ("energy", ("90m", "4h"))],
    ids=["shop", "energy", "shop-declared", "energy-declared"],
)
def test_a_source_that_stops_delivering_alerts_once_then_recovers(
    request: pytest.FixtureRequest,
    webhook: tuple[str, Webhook],
    monkeypatch: pytest.MonkeyPatch,
    example: str,
    windows: tuple[str, str] | None,
) -> None:
    deployment: Deployment = request.getfixturevalue("project" if example == "shop" else example)
    url, hook = webhook
    monkeypatch.setenv("CT_ALERT_WEBHOOK_URL", url)
    if windows is not None:
        deployment.reconfigure({"freshness": {"sources": {"warn": windows[0], "fail": windows[1]}}})
    fail_after = parse_duration(windows[1]) if windows else FAIL_AFTER
    defs = build_definitions(deployment.project)
    # The sensor's clock is the one thing faked: it runs past the fail window on demand.
    ahead = [0.0]
    sensor = build_freshness_sensor(deployment.project, clock=lambda: time.time() + ahead[0])
    instance = deployment.instance

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

    delivered = dg.AssetMaterialization(asset_key=source_key(FILE_DROP))
    instance.report_runless_asset_event(delivered)
    cursor = tick(None)
    assert hook.received == []

    if windows is not None:
        # Past the declared fail window, well inside the default warn window.
        ahead[0] = fail_after.total_seconds() + 60
        assert ahead[0] < WARN_AFTER.total_seconds()
    else:
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
