"""The production model's freshness: overdue means retrain.

`production_model` carries a freshness policy, so the UI shows when no promotion decision has
been taken for too long. A policy only reports; this sensor acts on the same window. An overdue
decision usually means the pipeline is stuck upstream (a day that never arrived holds its
windows back), so the retrain is a run of the window, the candidates, the evaluation and the
decision on the newest partition that has features, whatever automation is waiting for.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg

from ct_assets.names import FEATURES, PRODUCTION_MODEL, RETRAIN, TRIGGER_TAG
from ct_assets.project.load import Project
from ct_assets.project.spec import parse_duration
from sensors.freshness import FAIL, freshness_state


def overdue_since(
    last_decision: float | None, first_features: float | None, now: float, fail: timedelta
) -> float | None:
    """When the overdue clock started (the last decision, or the first features when no decision
    was ever taken), if it has run past `fail`; None while the decision is fresh."""
    reference = last_decision if last_decision is not None else first_features
    if reference is None or freshness_state(reference, now, fail, fail) != FAIL:
        return None
    return reference


def _timestamp(instance: dg.DagsterInstance, asset: dg.AssetKey, ascending: bool) -> float | None:
    records = instance.fetch_materializations(asset, limit=1, ascending=ascending).records
    return records[0].timestamp if records else None


def build_model_freshness_sensor(
    project: Project, clock: Callable[[], float] = time.time
) -> dg.SensorDefinition:
    fail = parse_duration(project.spec.freshness.model.fail)
    namespace = project.namespace

    @dg.sensor(
        name=namespace.name("model_freshness_sensor"),
        minimum_interval_seconds=max(60, project.poll_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
        asset_selection=namespace.keys(*RETRAIN),
        description=f"Retrains the newest partition with features when {PRODUCTION_MODEL} has "
        f"had no decision for {fail} (its freshness policy's fail window).",
    )
    def model_freshness_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        instance = context.instance
        since = overdue_since(
            _timestamp(instance, namespace.key(PRODUCTION_MODEL), ascending=False),
            _timestamp(instance, namespace.key(FEATURES), ascending=True),
            clock(),
            fail,
        )
        if since is None:
            return dg.SensorResult(skip_reason=f"{PRODUCTION_MODEL} is fresh (or has no data)")
        with_features = instance.get_materialized_partitions(namespace.key(FEATURES))
        if not with_features:
            return dg.SensorResult(skip_reason="overdue, but no partition has features")
        newest = max(with_features)
        moment = datetime.fromtimestamp(since, UTC).isoformat()
        context.log.warning(f"{PRODUCTION_MODEL} overdue since {moment}: retraining {newest}")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    # One retrain per partition and overdue episode; a new decision ends it.
                    run_key=f"retrain-{newest}-{since:.0f}",
                    partition_key=newest,
                    asset_selection=namespace.keys(*RETRAIN),
                    tags={
                        TRIGGER_TAG: f"{PRODUCTION_MODEL} overdue since {moment}",
                        **namespace.run_tags,
                    },
                )
            ]
        )

    return model_freshness_sensor
