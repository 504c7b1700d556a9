"""Prequential champion performance: test then train, the baking pair, live performance."""

from __future__ import annotations

import math

import dagster as dg

from ct_assets.ml.evaluation import metric_value
from ct_assets.ml.frames import LABEL
from ct_assets.ml.live_score import worse_by
from ct_assets.ml.training import predict
from ct_assets.names import (
    BATCH_PREDICTIONS,
    CHAMPION_PERFORMANCE,
    FEATURES,
    LIVE_PERFORMANCE,
    PRODUCTION_MODEL,
    RAW_BATCHES,
    SERVED_PERFORMANCE,
    TRAINING_WINDOW,
)
from ct_assets.reads.observe import latest_metadata
from tests.conftest import EAGER_GATES, Deployment


def step_order(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]


def performance(project: Deployment, day: int) -> dict:
    meta = latest_metadata(project.instance, CHAMPION_PERFORMANCE, project.partition(day))
    assert meta is not None
    return meta


def scored_by(project: Deployment, version: str, day: int) -> float:
    features = project.defs.load_asset_value(
        FEATURES, partition_key=project.partition(day), instance=project.instance
    )
    family, model = project.resource("mlflow").load(version)
    value = metric_value(
        project.spec.metric, features[LABEL].to_numpy(), predict(family, model, features)
    )
    assert value is not None
    return round(value, 6)


def test_the_champion_is_scored_before_the_partition_retrains_and_beside_its_predecessor(
    project: Deployment,
) -> None:
    project.reconfigure(EAGER_GATES)
    metric = project.spec.metric
    registry = project.resource("mlflow")

    # No champion yet: materialized without scores, and training still starts.
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    first = performance(project, 0)
    assert first["champion_version"] == "none" and first["rows"] > 0
    assert math.isnan(first[f"champion_{metric}"]) and first["baking"] is False
    v_a = registry.champion_version()
    assert v_a is not None

    # Day 1: scored by the champion as it stood before the day's own decision promoted another.
    project.drop_day(1)
    run = project.materialize(project.partition(1))
    assert run.success
    order = step_order(run)
    assert order.index(CHAMPION_PERFORMANCE) < order.index(TRAINING_WINDOW)
    decided = latest_metadata(project.instance, PRODUCTION_MODEL, project.partition(1))
    assert decided is not None and decided["champion_before"] == v_a
    v_b = decided["champion_after"]
    assert v_b != v_a
    second = performance(project, 1)
    assert second["champion_version"] == v_a
    assert second[f"champion_{metric}"] == scored_by(project, v_a, 1)
    # v_a replaced nothing: no baking, no paired comparison.
    assert second["baking"] is False and math.isnan(second["worse_than_previous_by"])
    baseline = (
        registry.client()
        .get_run(registry.client().get_model_version(registry.registered_model, v_a).run_id)
        .data.metrics[f"holdout_{metric}"]
    )
    assert second[f"baseline_{metric}"] == baseline
    assert second["worse_than_baseline_by"] == worse_by(
        metric, second[f"champion_{metric}"], baseline
    )

    # Day 2: v_b bakes, so v_a is scored on the same rows beside it.
    project.drop_day(2)
    assert project.materialize(project.partition(2)).success
    third = performance(project, 2)
    assert third["champion_version"] == v_b and third["previous_version"] == v_a
    assert third["baking"] is True
    assert third[f"champion_{metric}"] == scored_by(project, v_b, 2)
    assert third[f"previous_{metric}"] == scored_by(project, v_a, 2)
    assert third["worse_than_previous_by"] == worse_by(
        metric, third[f"champion_{metric}"], third[f"previous_{metric}"]
    )

    (record,) = project.instance.fetch_materializations(
        dg.AssetKey(LIVE_PERFORMANCE), limit=1
    ).records
    assert record.asset_materialization is not None
    live = {k: v.value for k, v in record.asset_materialization.metadata.items()}
    assert v_a in live["versions"] and v_b in live["versions"]
    assert "data:image/png;base64" in live["plot"] and "prequential" in live["table"]


def test_without_every_partition_the_retrain_waits_for_its_sensor(project: Deployment) -> None:
    key = dg.AssetKey(TRAINING_WINDOW)
    every = project.defs.resolve_assets_def(TRAINING_WINDOW)
    assert every.automation_conditions_by_key.get(key) is not None
    project.reconfigure({"policy": {"retrain": {"triggers": ["drift"]}}})
    window = project.defs.resolve_assets_def(TRAINING_WINDOW)
    assert window.automation_conditions_by_key.get(key) is None
    assert dg.AssetKey(CHAMPION_PERFORMANCE) in window.asset_deps[key]


def test_automation_requests_the_closed_loop_with_the_chain_of_a_new_partition(
    project: Deployment,
) -> None:
    cursor = dg.evaluate_automation_conditions(project.defs, project.instance).cursor
    project.drop_day(0)
    assert project.materialize(project.partition(0), f'key:"{RAW_BATCHES}"').success
    result = dg.evaluate_automation_conditions(project.defs, project.instance, cursor=cursor)
    for asset in (CHAMPION_PERFORMANCE, TRAINING_WINDOW, BATCH_PREDICTIONS):
        assert set(result.get_requested_partitions(dg.AssetKey(asset))) == {project.partition(0)}
    # Served performance waits for labels (its sensor); live performance for either input.
    assert result.get_num_requested(dg.AssetKey(SERVED_PERFORMANCE)) == 0
