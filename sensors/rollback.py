"""Automatic rollback: a champion on probation that does worse live than the one it replaced is
moved back (`policy.rollback`).

While a new champion bakes, `champion_performance` scores it and the previous champion on the
same new rows, and `served_performance` joins served predictions to their delayed labels per
version. `ct_assets.ml.loop.rollback_decision` weighs both; on "roll back" the registry moves
the alias and records the move with its reason, an alert goes out, and the cursor remembers the
promotion so the same evidence never acts twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import dagster as dg

from ct_assets.ml.loop import rollback_decision
from ct_assets.ml.records import LiveScore
from ct_assets.names import CHAMPION_PERFORMANCE, SERVED_PERFORMANCE
from ct_assets.project.load import Project
from ct_assets.reads.observe import latest_metadata
from resources.alerts import AlertHook
from resources.mlflow_registry import MlflowRegistry, StaleChampion


def _since(
    instance: dg.DagsterInstance, asset: dg.AssetKey, moment: float
) -> dict[str, dict[str, Any]]:
    """Newest metadata of each partition of `asset` materialized after `moment`."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, after_timestamp=moment),
        limit=10_000,
    ).records
    partitions = {r.partition_key for r in records if r.partition_key is not None}
    found = {p: latest_metadata(instance, asset, p) for p in sorted(partitions)}
    return {p: m for p, m in found.items() if m is not None}


def _versions(meta: dict[str, Any]) -> dict[str, Any]:
    value = meta.get("versions") or {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def build_rollback_sensor(project: Project) -> dg.SensorDefinition:
    spec = project.spec
    rollback, metric = spec.policy.rollback, spec.metric
    namespace = project.namespace

    @dg.sensor(
        name=namespace.name("rollback_sensor"),
        # As often as the sources are polled: a retrain or rollback waits on no one.
        minimum_interval_seconds=project.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Moves the champion back when, baking, its live {metric} is worse than "
        f"the previous champion's by more than {rollback.margin} (policy.rollback).",
    )
    @namespace.resources
    def rollback_sensor(
        context: dg.SensorEvaluationContext, mlflow: MlflowRegistry, alerts: AlertHook
    ) -> dg.SensorResult:
        acted: list[str] = json.loads(context.cursor) if context.cursor else []
        kept = json.dumps(acted)
        if not rollback.enabled:
            return dg.SensorResult(skip_reason="policy.rollback.enabled is false", cursor=kept)
        champion = mlflow.champion_version()
        move = mlflow.promotion_of(champion) if champion else None
        if champion is None or move is None or not move.get("from"):
            return dg.SensorResult(skip_reason="no champion that replaced another", cursor=kept)
        if move.get("kind") == "rollback":
            # A restored champion is the known-good one: going back again would flip-flop.
            return dg.SensorResult(
                skip_reason=f"v{champion} was restored by a rollback", cursor=kept
            )
        promotion = f"v{champion}@{move['at']}"
        if promotion in acted:
            return dg.SensorResult(skip_reason=f"already acted on {promotion}", cursor=kept)
        previous = str(move["from"])
        promoted_at = datetime.fromisoformat(move["at"]).timestamp()
        instance = context.instance
        scored = {
            p: score
            for p, m in _since(instance, namespace.key(CHAMPION_PERFORMANCE), promoted_at).items()
            if (score := LiveScore.from_metadata(m)) is not None
        }
        mine = {p: s for p, s in scored.items() if s.champion_version == champion}
        if mine and not mine[max(mine)].baking:
            # Done with this promotion for good: later ticks need not read its evidence again.
            return dg.SensorResult(
                skip_reason=f"v{champion} has finished baking",
                cursor=json.dumps([*acted, promotion]),
            )
        baking = [(p, s) for p, s in mine.items() if s.baking]
        served = [
            _versions(m)
            for m in _since(instance, namespace.key(SERVED_PERFORMANCE), promoted_at).values()
        ]
        decision = rollback_decision(rollback, metric, champion, previous, baking, served)
        if not decision.rollback:
            return dg.SensorResult(skip_reason=decision.reason, cursor=kept)
        try:
            moved = mlflow.rollback(decision.reason, to=previous, expected=champion)
        except StaleChampion as exc:
            return dg.SensorResult(skip_reason=f"not rolled back: {exc}", cursor=kept)
        alerts.send(
            context.log,
            f"ct rollback: champion v{moved['from']} -> v{moved['to']}: {decision.reason}",
            {"from": moved["from"], "to": moved["to"], "reason": decision.reason},
            kind="rollback",
        )
        return dg.SensorResult(
            skip_reason=f"rolled back v{moved['from']} to v{moved['to']}",
            cursor=json.dumps([*acted, promotion][-100:]),
        )

    return rollback_sensor
