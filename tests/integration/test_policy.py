"""The declared retrain policy: the pure decision, the retrain sensor on a real instance, the
cron schedule, and the alert a triggered retrain posts to a real local webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.names import (
    CHAMPION_PERFORMANCE,
    FEATURE_DRIFT,
    FEATURES,
    PRODUCTION_MODEL,
    REASON_TAG,
    RETRAIN,
    TRIGGER_TAG,
)
from ct_assets.reads.observe import latest_metadata
from resources.alerts import AlertHook
from sensors.retrain import RetrainCursor, build_retrain_schedules
from tests.conftest import START, Deployment, deploy
from tests.helpers.policy import performance
from tests.services import Webhook

# The margins the tests are built around, whatever the example declares.
ON_SIGNALS = {
    "policy": {
        "retrain": {
            "triggers": ["drift", "performance"],
            "drift_share": 0.25,
            "performance_margin": 0.05,
        }
    }
}


def tick(project: Deployment, cursor: str | None, url: str | None = None) -> Any:
    sensor = project.defs.get_sensor_def("retrain_sensor")
    context = dg.build_sensor_context(
        instance=project.instance,
        cursor=cursor,
        definitions=project.defs,
        resources={"alerts": AlertHook(webhook_url=url)},
    )
    return sensor.evaluate_tick(context)


def test_a_concept_change_with_steady_features_requests_a_retrain_with_its_reason(
    project: Deployment, webhook: tuple[str, Webhook]
) -> None:
    url, hook = webhook
    project.reconfigure(ON_SIGNALS)
    day = project.partition(4)
    project.report(FEATURE_DRIFT, day, {"drift_share": 0.0, "drifted_features": "none"})
    # Drift alone is in; the partition waits for the champion's score before it is judged.
    waiting = tick(project, None, url)
    assert waiting.run_requests == [] and hook.received == []
    project.report(CHAMPION_PERFORMANCE, day, performance(0.09, 0.61, 0.70).entry())
    result = tick(project, waiting.cursor, url)
    (run,) = result.run_requests
    assert run.partition_key == day
    assert run.asset_selection == [dg.AssetKey(a) for a in RETRAIN]
    assert run.tags[TRIGGER_TAG] == "performance"
    reason = "roc_auc 0.61 is 0.09 below the champion v3's holdout 0.7 (margin 0.05)"
    assert run.tags[REASON_TAG] == reason
    assert run.run_key == f"retrain-{day}-performance"
    (alert,) = hook.received
    assert alert["kind"] == "retrain" and alert["partition"] == day
    assert alert["trigger"] == "performance" and reason in alert["text"]

    # The cursor holds the partition as handled: the same evidence re-read requests nothing.
    assert RetrainCursor.parse(result.cursor).handled == {day: ["performance"]}
    project.report(CHAMPION_PERFORMANCE, day, performance(0.10, 0.60, 0.70).entry())
    assert tick(project, result.cursor, url).run_requests == []
    assert len(hook.received) == 1


def test_a_partition_already_decided_or_retrained_by_automation_is_left_alone(
    project: Deployment,
) -> None:
    day = project.partition(4)
    project.report(FEATURE_DRIFT, day, {"drift_share": 0.9, "drifted_features": "a, b"})
    project.report(CHAMPION_PERFORMANCE, day, performance(0.3, 0.4, 0.7).entry())
    # The examples declare nothing: every partition is retrained by automation.
    assert project.spec.policy.retrain.triggers == ["every_partition"]
    assert tick(project, None).run_requests == []

    project.reconfigure(ON_SIGNALS)
    project.report(PRODUCTION_MODEL, day, {"decision": "keep champion"})
    assert tick(project, None).run_requests == []


def test_the_schedule_retrains_the_newest_partition_with_features(project: Deployment) -> None:
    assert build_retrain_schedules(project.project) == []  # not declared: no schedule
    project.reconfigure(
        {"policy": {"retrain": {"triggers": ["schedule"], "schedule": "0 3 * * *"}}}
    )
    schedule = project.defs.get_schedule_def("retrain_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    at = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)

    def evaluate() -> Any:
        context = dg.build_schedule_context(
            instance=project.instance,
            scheduled_execution_time=at,
            repository_def=project.defs.get_repository_def(),
        )
        return schedule.evaluate_tick(context)

    assert evaluate().run_requests in (None, [])
    for index in (1, 3, 2):
        project.report(FEATURES, project.partition(index), {"dagster/row_count": 10})
    (run,) = evaluate().run_requests
    assert run.partition_key == project.partition(3)
    assert run.tags[TRIGGER_TAG] == "schedule"
    assert "0 3 * * *" in run.tags[REASON_TAG]
    assert run.run_key == f"schedule-{project.partition(3)}-20260106T0300"
    # The job the schedule targets resolves in the project's definitions.
    dg.Definitions.validate_loadable(project.defs)


def covariate_shift(project: Deployment, index: int) -> pd.DataFrame:
    """A day whose features move (large baskets, the app, new accounts over-represented) while
    the label keeps its relation to them: rows are selected by their features alone."""
    frame = project.module.demo_source(project.source.start, 3000, 100).day(index)
    rng = np.random.default_rng(5)
    weight = (
        np.exp(0.5 * np.log1p(frame["amount"]))
        * np.where(frame["channel"] == "app", 3.0, 1.0)
        * np.exp(-frame["account_age_days"] / 300)
    )
    chosen = rng.choice(len(frame), size=1500, replace=False, p=weight / weight.sum())
    return frame.iloc[np.sort(chosen)].reset_index(drop=True)


UPSTREAM = " or ".join(
    f'key:"{a}"'
    for a in ("raw_batches", "validated_batches", FEATURES, FEATURE_DRIFT, CHAMPION_PERFORMANCE)
)


def three_days_then(project: Deployment, frame: pd.DataFrame | None) -> str:
    """A champion from days 0-2 (whole pipeline), then day 3 up to its drift and the champion's
    score on it, before any retrain: what the retrain sensor judges."""
    for index in range(3):
        project.drop_day(index)
        assert project.materialize(project.partition(index)).success
    day = project.partition(3)
    project.drop_day(3, frame)
    assert project.materialize(day, UPSTREAM).success
    return day


def test_feature_drift_that_does_not_hurt_retrains_but_the_margin_gate_keeps_the_champion(
    project: Deployment,
) -> None:
    # A margin a retrain on the same relation cannot clear by more data alone (one day's
    # champion against three days' candidates gains ~0.01-0.02 of AUC on this data).
    project.reconfigure({**ON_SIGNALS, "gates": {"margin": 0.04}})
    registry = project.resource("mlflow")
    day = three_days_then(project, covariate_shift(project, 3))
    champion = registry.champion_version()
    drift = latest_metadata(project.instance, FEATURE_DRIFT, day)
    assert drift is not None and drift["drift_share"] >= 0.25, drift

    (run,) = tick(project, None).run_requests
    # Selecting rows by their features narrows their range, so the live metric may dip too
    # (a performance reason beside drift); the relation itself did not change.
    assert run.tags[TRIGGER_TAG].split("+")[0] == "drift"
    assert run.tags[REASON_TAG].startswith(f"drift share {drift['drift_share']:.2f} reaches 0.25")
    selection = " or ".join(f'key:"{a}"' for a in RETRAIN)
    assert project.materialize(run.partition_key, selection).success
    decision = latest_metadata(project.instance, PRODUCTION_MODEL, day)
    assert decision is not None and decision["decision"] == "keep champion", (
        decision["reason"] if decision else None
    )
    assert "margin" in decision["reason"]
    assert registry.champion_version() == champion


def test_a_concept_change_on_real_data_makes_the_sensor_request_a_performance_retrain(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    project = deploy(tmp_path, dagster_instance, "shop", ON_SIGNALS)
    project.source = project.module.demo_source(START, 1500, 100, concept_day=3)
    day = three_days_then(project, None)
    drift = latest_metadata(project.instance, FEATURE_DRIFT, day)
    scored = latest_metadata(project.instance, CHAMPION_PERFORMANCE, day)
    assert drift is not None and scored is not None
    # Every feature keeps its distribution; only the champion's score says the world moved.
    assert drift["drift_share"] < 0.25, drift
    # Nor does the features' correlation structure move: the label's relation does.
    assert drift["correlation_shifted_features"] == "none"
    assert drift["max_correlation_shift"] < project.spec.drift.correlation_threshold
    assert scored["worse_than_baseline_by"] > 0.05, scored

    (run,) = tick(project, None).run_requests
    assert run.partition_key == day
    assert run.tags[TRIGGER_TAG] == "performance"
    champion = scored["champion_version"]
    assert f"below the champion v{champion}'s holdout" in run.tags[REASON_TAG]
    assert f"{scored['champion_roc_auc']:.4g}" in run.tags[REASON_TAG]
