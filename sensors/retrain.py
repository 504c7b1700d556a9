"""Retraining on the declared triggers that automation does not carry out: drift, performance
and a schedule (`policy.retrain.triggers`).

`every_partition` is automation's (training_window's condition follows each new partition).
This sensor reads what each new partition showed, the champion's score on it before any
retraining (`champion_performance`) and its feature drift (`feature_drift`), lets
`ct_assets.ml.loop.retrain_reasons` decide, and requests the retrain of that partition with the
reason in its tags; the schedule retrains the newest partition with features on a cron.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ct_assets.ml.loop import RetrainReason, retrain_reasons
from ct_assets.ml.records import DriftSummary, LiveScore
from ct_assets.names import (
    CHAMPION_PERFORMANCE,
    FEATURE_DRIFT,
    FEATURES,
    LONE,
    PRODUCTION_MODEL,
    REASON_TAG,
    RETRAIN,
    RUN_KIND_TAG,
    TRAINING_RUNS,
    TRIGGER_TAG,
    Namespace,
)
from ct_assets.project.load import Project
from ct_assets.reads.observe import materialization_record
from resources.alerts import AlertHook

SENSOR_TRIGGERS = ("drift", "performance")


@dataclass
class RetrainCursor:
    """Progress: the newest event read per watched asset, and the triggers already requested
    per partition (a re-materialized partition is re-read, never retrained twice for one
    trigger)."""

    after: dict[str, int] = field(default_factory=dict)
    handled: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> RetrainCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(dict(data.get("after", {})), dict(data.get("handled", {})))

    def dump(self) -> str:
        return json.dumps({"after": self.after, "handled": self.handled}, sort_keys=True)


def watched_assets(on: Sequence[str]) -> list[str]:
    """What must have materialized for a partition before its triggers are judged."""
    # The champion's score is always read: without a champion, any policy trains a first one.
    return [CHAMPION_PERFORMANCE, *([FEATURE_DRIFT] if "drift" in on else [])]


def _new_partitions(
    instance: dg.DagsterInstance, asset: dg.AssetKey, after: int | None
) -> tuple[set[str], int | None]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, after_storage_id=after),
        limit=10_000,
        ascending=True,
    ).records
    touched = {r.partition_key for r in records if r.partition_key is not None}
    return touched, (records[-1].storage_id if records else after)


def already_decided(
    instance: dg.DagsterInstance,
    partition: str,
    evidence: list[dict[str, Any]],
    namespace: Namespace = LONE,
) -> bool:
    """Whether the partition had its promotion decision once its evidence began to land (by
    automation, by hand, or by an earlier request): a decision in the same run as some evidence
    (drift runs after the decision there) or after the first of it."""
    decided = materialization_record(instance, namespace.key(PRODUCTION_MODEL), partition)
    if decided is None:
        return False
    runs = {e["run_id"] for e in evidence}
    return decided["run_id"] in runs or decided["at"] >= min(e["at"] for e in evidence)


def retrain_request(
    partition: str, reasons: list[RetrainReason], namespace: Namespace = LONE
) -> dg.RunRequest:
    triggers = "+".join(r.trigger for r in reasons)
    return dg.RunRequest(
        run_key=f"retrain-{partition}-{triggers}",
        partition_key=partition,
        asset_selection=namespace.keys(*RETRAIN),
        tags={
            TRIGGER_TAG: triggers,
            REASON_TAG: "; ".join(r.text for r in reasons),
            RUN_KIND_TAG: TRAINING_RUNS,
            **namespace.run_tags,
        },
    )


def build_retrain_sensor(project: Project) -> dg.SensorDefinition:
    spec = project.spec
    policy, metric = spec.policy, spec.metric
    on = list(policy.retrain.triggers)
    watched = watched_assets(on)
    namespace = project.namespace

    @dg.sensor(
        name=namespace.name("retrain_sensor"),
        # As often as the sources are polled: a retrain or rollback waits on no one.
        minimum_interval_seconds=project.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=namespace.keys(*RETRAIN),
        description="Retrains a partition whose drift share or champion's live "
        f"{metric} crosses the declared policy (policy.retrain.triggers: {', '.join(on)}).",
    )
    @namespace.resources
    def retrain_sensor(context: dg.SensorEvaluationContext, alerts: AlertHook) -> dg.SensorResult:
        cursor = RetrainCursor.parse(context.cursor)
        if "every_partition" in on or not watched:
            return dg.SensorResult(
                skip_reason="automation retrains every partition (policy.retrain.triggers: "
                f"{', '.join(on)})",
                cursor=cursor.dump(),
            )
        instance = context.instance
        touched: set[str] = set()
        for asset in watched:
            found, newest = _new_partitions(instance, namespace.key(asset), cursor.after.get(asset))
            if newest is not None:
                cursor.after[asset] = newest
            touched |= found
        requests = []
        for partition in sorted(touched):
            records = {
                a: materialization_record(instance, namespace.key(a), partition) for a in watched
            }
            if any(r is None for r in records.values()):
                continue  # judged when the rest of its evidence lands
            if already_decided(instance, partition, [r for r in records.values() if r], namespace):
                continue
            metas: dict[str, Any] = {a: r["metadata"] for a, r in records.items() if r}
            drift = DriftSummary.from_metadata(metas.get(FEATURE_DRIFT))
            live_score = LiveScore.from_metadata(metas.get(CHAMPION_PERFORMANCE))
            done = set(cursor.handled.get(partition, []))
            reasons = [
                r
                for r in retrain_reasons(policy, metric, drift, live_score)
                if r.trigger not in done
            ]
            if not reasons:
                continue
            cursor.handled[partition] = sorted(done | {r.trigger for r in reasons})
            request = retrain_request(partition, reasons, namespace)
            requests.append(request)
            alerts.send(
                context.log,
                f"ct retrain {partition} ({request.tags[TRIGGER_TAG]}): {request.tags[REASON_TAG]}",
                {
                    "partition": partition,
                    "trigger": request.tags[TRIGGER_TAG],
                    "reason": request.tags[REASON_TAG],
                },
                kind="retrain",
            )
        if not requests:
            return dg.SensorResult(
                skip_reason=f"no trigger fired on {len(touched)} new partition(s)",
                cursor=cursor.dump(),
            )
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())

    return retrain_sensor


def build_retrain_schedules(project: Project) -> list[dg.ScheduleDefinition]:
    """The cron retrain, when `schedule` is among the policy's triggers (else none)."""
    retrain = project.spec.policy.retrain
    if "schedule" not in retrain.triggers or not retrain.schedule:
        return []
    cron = retrain.schedule
    namespace = project.namespace

    @dg.schedule(
        name=namespace.name("retrain_schedule"),
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        target=namespace.selection(*RETRAIN),
        description=f"Retrains the newest partition with features on '{cron}' (UTC).",
    )
    def retrain_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        with_features = context.instance.get_materialized_partitions(namespace.key(FEATURES))
        if not with_features:
            return dg.SkipReason("no partition has features yet")
        newest = max(with_features)
        moment = context.scheduled_execution_time
        stamp = moment.strftime("%Y%m%dT%H%M") if moment else "now"
        return dg.RunRequest(
            run_key=f"schedule-{newest}-{stamp}",
            partition_key=newest,
            tags={
                RUN_KIND_TAG: TRAINING_RUNS,
                **namespace.run_tags,
                TRIGGER_TAG: "schedule",
                REASON_TAG: f"scheduled retrain ('{cron}' UTC) of the newest partition with "
                f"features, {newest}",
            },
        )

    return [retrain_schedule]
