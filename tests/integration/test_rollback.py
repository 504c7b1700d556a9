"""Automatic rollback: the pure decision, and the sensor on a real instance and a real MLflow
registry, with the alert received by a real local webhook."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest

from ct_assets.names import CHAMPION_PERFORMANCE, SERVED_PERFORMANCE
from resources.alerts import AlertHook
from resources.mlflow_registry import MlflowRegistry
from tests.conftest import Deployment
from tests.helpers.rollback import scored, served
from tests.services import Webhook


def two_champions(registry: MlflowRegistry) -> None:
    """v1 promoted first, then v2 over it: v2 bakes with v1 to go back to. The versions are
    registered without a model: the sensor moves aliases, it never loads models."""
    client = registry.client()
    client.create_registered_model(registry.registered_model)
    for _ in range(2):
        client.create_model_version(
            registry.registered_model, source=f"{registry.artifact_root}/none"
        )
    registry.promote("1", None, "first model")
    registry.promote("2", "1", "v2 beat v1 on the holdout")


def tick(project: Deployment, cursor: str | None, url: str | None = None) -> Any:
    sensor = project.defs.get_sensor_def("rollback_sensor")
    context = dg.build_sensor_context(
        instance=project.instance,
        cursor=cursor,
        definitions=project.defs,
        resources={"mlflow": project.resource("mlflow"), "alerts": AlertHook(webhook_url=url)},
    )
    return sensor.evaluate_tick(context)


def test_a_degraded_baking_champion_is_rolled_back_once_with_its_reason(
    project: Deployment, webhook: tuple[str, Webhook]
) -> None:
    url, hook = webhook
    registry = project.resource("mlflow")
    two_champions(registry)
    promotion = f"v2@{registry.promotion_of('2')['at']}"
    project.report(CHAMPION_PERFORMANCE, project.partition(4), scored(0.08, 0.62, 0.70).entry())

    result = tick(project, None, url)
    assert registry.champion_version() == "1"
    last = registry.history()[-1]
    assert last["kind"] == "rollback" and last["from"] == "2" and last["to"] == "1"
    assert "roc_auc 0.62 is 0.08 below the previous champion v1's 0.7" in last["reason"]
    assert json.loads(result.cursor) == [promotion]
    (alert,) = hook.received
    assert alert["kind"] == "rollback" and alert["from"] == "2" and alert["to"] == "1"
    assert last["reason"] == alert["reason"]

    # The restored champion is not rolled back again, whatever the evidence says.
    project.report(CHAMPION_PERFORMANCE, project.partition(5), scored(0.5, 0.2, 0.7, "1").entry())
    again = tick(project, result.cursor, url)
    assert registry.champion_version() == "1" and len(registry.history()) == 3
    assert len(hook.received) == 1
    # The same promotion, were it back, is never acted on twice from the remembered cursor.
    registry.promote("2", "1", "promoted again by hand")
    remembered = json.dumps([f"v2@{registry.promotion_of('2')['at']}"])
    assert "already acted on" in str(tick(project, remembered).skip_message)
    assert registry.champion_version() == "2"
    assert again.cursor == result.cursor


def test_a_healthy_or_unproven_champion_stays(project: Deployment) -> None:
    registry = project.resource("mlflow")
    two_champions(registry)
    # Nothing scored yet: no evidence, no move.
    assert tick(project, None).run_requests == []
    assert registry.champion_version() == "2"
    project.report(CHAMPION_PERFORMANCE, project.partition(4), scored(0.005, 0.695, 0.70).entry())
    project.report(SERVED_PERFORMANCE, project.partition(4), {"versions": served(0.7, 0.7, 50)})
    result = tick(project, None)
    assert registry.champion_version() == "2"
    assert "v2 holds" in str(result.skip_message)
    assert [e["kind"] for e in registry.history()] == ["promote", "promote"]


def test_served_requests_alone_can_roll_back_and_disabled_never_does(
    project: Deployment,
) -> None:
    registry = project.resource("mlflow")
    two_champions(registry)
    project.report(SERVED_PERFORMANCE, project.partition(4), {"versions": served(0.6, 0.7, 150)})
    project.report(SERVED_PERFORMANCE, project.partition(5), {"versions": served(0.6, 0.7, 150)})
    project.reconfigure({"policy": {"rollback": {"enabled": False}}})
    assert "enabled is false" in str(tick(project, None).skip_message)
    assert registry.champion_version() == "2"
    project.reconfigure({"policy": {"rollback": {"enabled": True, "min_requests": 200}}})
    tick(project, None)
    assert registry.champion_version() == "1"
    assert "300 labeled served requests" in registry.history()[-1]["reason"]


def test_status_shows_the_live_metric_and_the_champion_moves(project: Deployment) -> None:
    from rich.console import Console

    from ct_assets.cli.status import champions_table, moves_table, table
    from ct_assets.reads.status import champion_moves, champions, partition_row

    registry = project.resource("mlflow")
    two_champions(registry)
    day = project.partition(4)
    # The champion's first live partition: 0.62 against its holdout 0.72, both checks red.
    project.report(
        CHAMPION_PERFORMANCE,
        day,
        scored(0.08, 0.62, 0.70)
        .model_copy(update={"live_degraded": True, "gap_exceeded": True})
        .entry(),
    )
    tick(project, None)
    row = partition_row(project.instance, project.spec, day, [])
    assert row["live_roc_auc"] == 0.62 and row["live_champion"] == "2"
    assert row["retrain_trigger"] is None
    moves = champion_moves(registry.history())
    assert [m["kind"] for m in moves] == ["promote", "promote", "rollback"]
    assert "0.08 below the previous champion v1's 0.7" in moves[-1]["reason"]

    status = {
        "project": "shop",
        "task": "binary",
        "metric": "roc_auc",
        "registered_model": registry.registered_model,
        "champion": "1",
        "partitions": [row],
        "champions": champions([row], "roc_auc"),
        "moves": moves,
    }
    (served,) = status["champions"]
    assert served["version"] == "2" and served["holdout"] == 0.72
    assert served["first_gap"] == pytest.approx(0.1) and served["evaluation_gap_exceeded"]
    console = Console(width=250, record=True)
    console.print(table(status))
    console.print(champions_table(status))
    console.print(moves_table(status))
    shown = console.export_text()
    assert "0.6200 (v2) degraded, holdout missed" in shown
    assert "holdout missed its first live partitions" in shown and "+0.1000" in shown
    assert "v2 -> v1" in shown and "rollback" in shown
