"""The project as users meet it: imports, the Definitions, and the `dagster` CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

import resources
import sensors
from ct_assets.definitions import STAGES, build_definitions, defs
from ct_assets.ml.datagen import DriftingSource, write_atomically
from ct_assets.ml.quality import DIMENSIONS
from ct_assets.production import GATE_CHECKS
from ct_assets.settings import PROJECT_ROOT, load_settings
from tests.conftest import START


def test_generic_top_level_packages_come_from_this_repository() -> None:
    # `resources` and `sensors` are common names; an installed distribution must not shadow ours.
    for module in (resources, sensors):
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent.parent == PROJECT_ROOT


def test_loading_the_code_location_imports_no_training_or_monitoring_library() -> None:
    # Every run worker, sensor tick and CLI call loads the definitions: seconds each on two
    # cores if they pulled in what only the training, scoring and drift steps use.
    heavy = ("lightgbm", "sklearn", "scipy", "matplotlib", "optuna", "mlflow", "evidently")
    probe = (
        "import sys, ct_assets.definitions; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert done.stdout.strip() == ""


def test_definitions_load_with_every_stage_check_and_sensor() -> None:
    graph = defs.resolve_asset_graph()
    materialized = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert materialized == {*STAGES, "feature_drift", "online_features"}
    # The one source on by default is the file drop, an external asset its sensor updates.
    assert {k.to_user_string() for k in graph.external_asset_keys} == {"sources/file_drop"}
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {
        ("validated_batches", "events_match_schema"),
        ("production_model", "promotion_gate"),
        *(("production_model", check) for check in GATE_CHECKS.values()),
        *(("validated_batches", f"quality_{d}") for d in DIMENSIONS),
        ("feature_drift", "drift_share_below_threshold"),
    }
    blocking = {k.name for k in graph.asset_check_keys if graph.get(k).blocking}
    assert blocking == {"events_match_schema", "quality_uniqueness", "quality_label_balance"}
    for fresh in ("sources/file_drop", "raw_batches", "validated_batches", "production_model"):
        assert graph.get(dg.AssetKey.from_user_string(fresh)).freshness_policy is not None
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.code_version, key
        assert node.partitions_def is not None, key
        if key != dg.AssetKey("raw_batches"):
            assert node.automation_condition is not None, key
    sensors_by_name = {s.name: s for s in defs.sensors or []}
    assert set(sensors_by_name) == {
        "file_drop_sensor",
        "freshness_alert_sensor",
        "model_freshness_sensor",
        "ct_automation",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors_by_name.values())
    defs.resolve_implicit_global_asset_job_def()


def test_every_pulled_source_brings_its_sensor_asset_and_resource() -> None:
    settings = load_settings({"CT_SOURCES": "sql_table, redis_stream,http_api"})
    built = build_definitions(settings)
    graph = built.resolve_asset_graph()
    sources = {k.to_user_string() for k in graph.external_asset_keys}
    assert sources == {
        f"sources/{n}" for n in ("file_drop", "sql_table", "redis_stream", "http_api")
    }
    raw_parents = {k.to_user_string() for k in graph.get(dg.AssetKey("raw_batches")).parent_keys}
    assert raw_parents == sources
    names = {s.name for s in built.sensors or []}
    assert {"sql_table_sensor", "redis_stream_sensor", "http_api_sensor"} <= names
    # Endpoints are environment variables, never values in code.
    sql = built.resources["sql_table"]
    assert isinstance(sql.url, dg.EnvVar) and sql.url.env_var_name == "CT_SQL_URL"
    assert built.resources["redis_stream"].url.env_var_name == "CT_REDIS_URL"
    assert built.resources["http_api"].url.env_var_name == "CT_HTTP_URL"


def test_settings_reject_bad_values() -> None:
    import pytest

    with pytest.raises(ValueError, match="CT_SOURCES names unknown sources"):
        load_settings({"CT_SOURCES": "kafka"})
    with pytest.raises(ValueError, match="not a duration"):
        load_settings({"CT_SOURCE_FRESHNESS_FAIL": "soon"})
    with pytest.raises(ValueError, match="CT_GRANULARITY"):
        load_settings({"CT_GRANULARITY": "monthly"})
    with pytest.raises(ValueError, match="CT_TRAINING_WINDOW"):
        load_settings({"CT_TRAINING_WINDOW": "0"})
    assert load_settings({"CT_TRAINING_WINDOW": "5"}).training_window == 5
    with pytest.raises(ValueError, match="CT_DQ_BLOCKING names unknown dimensions"):
        load_settings({"CT_DQ_BLOCKING": "volume,freshness"})
    tuned = load_settings({"CT_DQ_MAX_LAG_HOURS": "6", "CT_DQ_BLOCKING": "volume"})
    assert tuned.quality.max_lag_hours == 6.0 and tuned.quality_blocking == {"volume"}
    with pytest.raises(ValueError, match="CT_AUC_FLOOR is replaced by CT_GATE_FLOORS"):
        load_settings({"CT_AUC_FLOOR": "0.7"})
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        load_settings({"CT_GATE_FLOORS": "acc>=0.9"})
    with pytest.raises(ValueError, match="CT_CANDIDATES"):
        load_settings({"CT_CANDIDATES": "lightgbm,xgboost"})
    gated = load_settings(
        {
            "CT_GATE_FLOORS": "roc_auc>=0.7,brier<=0.2",
            "CT_CANDIDATES": "lightgbm, lightgbm_incremental",
            "CT_SLICE_COLUMNS": "country",
            "CT_HPO_TRIALS": "5",
        }
    )
    assert [str(b) for b in gated.gates.floors] == ["roc_auc >= 0.7", "brier <= 0.2"]
    assert gated.families == ("lightgbm", "lightgbm_incremental")
    assert gated.slice_columns == ("country",) and gated.search.trials == 5


def test_dagster_cli_materializes_a_partition(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    ct_home = tmp_path / "ct"
    source = DriftingSource(start=START, rows_per_day=500)
    write_atomically(source.day(0), ct_home / "landing" / source.day_name(0))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CT_HOME": str(ct_home),
        "CT_PARTITION_START": START.isoformat(),
    }
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [
            *(str(dagster), "asset", "materialize", "-m", "ct_assets.definitions"),
            *("--select", "*", "--partition", START.isoformat()),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        for asset in ("raw_batches", "production_model"):
            record = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert record is not None, asset
            assert record.dagster_event.partition == START.isoformat()  # type: ignore[union-attr]
    assert (ct_home / "data" / "production_model" / f"{START.isoformat()}.json").exists()
