"""Unit tests of ct_assets/definitions.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ct_assets.definitions import build_definitions, defs
from ct_assets.names import (
    BATCH_PREDICTIONS,
    CHAMPION_PERFORMANCE,
    LIVE_PERFORMANCE,
    SERVED_PERFORMANCE,
    STAGES,
)
from ct_assets.project.load import ProjectError
from ct_assets.stages.production import GATE_CHECKS
from tests.conftest import write_project


def test_a_dataset_without_an_event_id_needs_a_sql_key_column(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"sources\.sql\.key_column"):
        write_project(tmp_path / "energy", "energy", {"sources": {"sql": {}}})
    keyed = write_project(
        tmp_path / "keyed", "energy", {"sources": {"sql": {"key_column": "reading_id"}}}
    )
    assert keyed.spec.sources.pulled == ("sql_table",)
    resource = build_definitions(keyed).resources["sql_table"]
    assert resource.key_column == "reading_id"


@pytest.mark.parametrize("example", ["shop", "energy"])
def test_definitions_load_with_every_stage_check_and_sensor(
    tmp_path: Path, example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "p", example)
    # The module-level definitions load the project CT_PROJECT names, as `dagster dev` does.
    monkeypatch.setenv("CT_PROJECT", str(project.root))
    loaded = defs()
    graph = loaded.resolve_asset_graph()
    materialized = {k.to_user_string() for k in graph.materializable_asset_keys}
    # Only a dataset with an entity has an online store to fill.
    online = {"online_features"} if project.spec.dataset.entity else set()
    loop = {CHAMPION_PERFORMANCE, SERVED_PERFORMANCE, LIVE_PERFORMANCE, BATCH_PREDICTIONS}
    assert materialized == {*STAGES, "feature_drift", *online, *loop}
    # The one source on by default is the file drop, an external asset its sensor updates.
    assert {k.to_user_string() for k in graph.external_asset_keys} == {"sources/file_drop"}
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    dimensions = project.spec.dimensions
    assert checks == {
        ("validated_batches", "events_match_schema"),
        ("production_model", "promotion_gate"),
        *(("production_model", check) for check in GATE_CHECKS.values()),
        *(("validated_batches", f"quality_{d}") for d in dimensions),
        ("feature_drift", "drift_share_below_threshold"),
        # The live checks: degradation, the evaluation gap (scored and served), prior shift.
        *(
            (CHAMPION_PERFORMANCE, check)
            for check in ("champion_holds_live", "holdout_predicts_live", "label_rate_holds")
        ),
        (SERVED_PERFORMANCE, "holdout_predicts_served"),
    }
    blocking = {k.name for k in graph.asset_check_keys if graph.get(k).blocking}
    assert blocking == {"events_match_schema", "quality_uniqueness", f"quality_{dimensions[-1]}"}
    for fresh in ("sources/file_drop", "raw_batches", "validated_batches", "production_model"):
        assert graph.get(dg.AssetKey.from_user_string(fresh)).freshness_policy is not None
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.code_version, key
        # Live performance sums up every partition, per model version.
        assert (node.partitions_def is None) == (key == dg.AssetKey(LIVE_PERFORMANCE)), key
        # The shared policy, applied in one place: every stage carries it.
        assert node.tags.get("ct/project") == project.spec.name, key
        # Raw batches and served labels come when their sensors see them arrive.
        if key not in (dg.AssetKey("raw_batches"), dg.AssetKey(SERVED_PERFORMANCE)):
            assert node.automation_condition is not None, key
    sensors_by_name = {s.name: s for s in loaded.sensors or []}
    assert set(sensors_by_name) == {
        "file_drop_sensor",
        "freshness_alert_sensor",
        "model_freshness_sensor",
        "delayed_labels_sensor",
        "retrain_sensor",
        "rollback_sensor",
        "ct_automation",
        "ct_training_automation",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors_by_name.values())
    loaded.resolve_implicit_global_asset_job_def()


def test_every_pulled_source_brings_its_sensor_asset_and_resource(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        changes={
            "sources": {
                "sql": {"url_env": "SHOP_DB_URL", "table": "orders"},
                "redis_stream": {},
                "http_api": {"url_env": "SHOP_API", "token_env": "SHOP_API_TOKEN"},
            }
        },
    )
    built = build_definitions(project)
    graph = built.resolve_asset_graph()
    sources = {k.to_user_string() for k in graph.external_asset_keys}
    assert sources == {
        f"sources/{n}" for n in ("file_drop", "sql_table", "redis_stream", "http_api")
    }
    raw_parents = {k.to_user_string() for k in graph.get(dg.AssetKey("raw_batches")).parent_keys}
    assert raw_parents == sources
    names = {s.name for s in built.sensors or []}
    assert {"sql_table_sensor", "redis_stream_sensor", "http_api_sensor"} <= names
    # Endpoints are environment variables named in ct.yaml, never values in code or in it.
    resources_ = built.resources or {}
    sql = resources_["sql_table"]
    assert isinstance(sql.url, dg.EnvVar) and sql.url.env_var_name == "SHOP_DB_URL"
    # The SQL source orders rows by the declared event id when no key column is named.
    assert sql.table == "orders" and sql.key_column == "event_id"
    assert resources_["redis_stream"].url.env_var_name == "CT_REDIS_URL"
    assert resources_["http_api"].url.env_var_name == "SHOP_API"
