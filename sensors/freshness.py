"""The freshness alert hook: a source (or the raw and validated layers) that stops delivering
raises an alert once when it goes overdue and once when it recovers.

Dagster's freshness policies show the same state in the UI; this sensor turns transitions of it
into a log line and, when configured, a webhook post.
"""

import json
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

import dagster as dg

from ct_assets.names import FILE_DROP, RAW_BATCHES, VALIDATED_BATCHES
from ct_assets.project.load import Project
from ct_assets.project.spec import parse_duration
from resources.alerts import AlertHook

PASS, WARN, FAIL, UNKNOWN = "pass", "warn", "fail", "unknown"
OVERDUE = (WARN, FAIL)


def freshness_state(last_update: float | None, now: float, warn: timedelta, fail: timedelta) -> str:
    """Dagster's time-window rule: since the last update, fail after `fail`, warn after `warn`."""
    if last_update is None:
        return UNKNOWN
    age = now - last_update
    if age >= fail.total_seconds():
        return FAIL
    if age >= warn.total_seconds():
        return WARN
    return PASS


def transitions(previous: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    """Assets whose state is worth an alert: newly overdue, worse, or recovered."""
    changed = {}
    for name, state in current.items():
        before = previous.get(name, UNKNOWN)
        if state in OVERDUE and state != before:
            changed[name] = state
        elif state == PASS and before in OVERDUE:
            changed[name] = PASS
    return changed


def watched_assets(project: Project) -> dict[str, dg.AssetKey]:
    """Each watched asset by its key as the UI spells it (`churn/raw_batches` in a fleet)."""
    namespace = project.namespace
    keys = [
        *(namespace.source(name) for name in [FILE_DROP, *project.spec.sources.pulled]),
        *namespace.keys(RAW_BATCHES, VALIDATED_BATCHES),
    ]
    return {key.to_user_string(): key for key in keys}


def build_freshness_sensor(
    project: Project, clock: Callable[[], float] = time.time
) -> dg.SensorDefinition:
    watched = watched_assets(project)
    window = project.spec.freshness.sources
    warn, fail = parse_duration(window.warn), parse_duration(window.fail)

    @dg.sensor(
        name=project.namespace.name("freshness_alert_sensor"),
        minimum_interval_seconds=max(30, project.poll_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts (log line and optional webhook) when a source, raw or validated "
        f"goes without an update for {warn} (warn) or {fail} (fail), and when it recovers.",
    )
    @project.namespace.resources
    def freshness_alert_sensor(
        context: dg.SensorEvaluationContext, alerts: AlertHook
    ) -> dg.SensorResult:
        previous: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        now = clock()
        current = {}
        for name, key in watched.items():
            event = context.instance.get_latest_materialization_event(key)
            current[name] = freshness_state(event.timestamp if event else None, now, warn, fail)
        for name, state in sorted(transitions(previous, current).items()):
            verb = "has recovered" if state == PASS else f"is overdue ({state})"
            alerts.send(
                context.log,
                f"ct freshness: {name} {verb}: no update for {warn} warns, for {fail} fails",
                {"asset": name, "state": state, "previous": previous.get(name, UNKNOWN)},
            )
        summary = ", ".join(f"{n}={s}" for n, s in sorted(current.items()))
        return dg.SensorResult(
            skip_reason=dg.SkipReason(summary), cursor=json.dumps(current, sort_keys=True)
        )

    return freshness_alert_sensor
