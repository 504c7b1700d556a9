"""The project as users meet it: imports, the Definitions of any project, and the `dagster` CLI."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import examples
import resources
import sensors
from ct_assets.definitions import build_definitions, defs
from ct_assets.names import (
    BATCH_PREDICTIONS,
    CHAMPION_PERFORMANCE,
    LIVE_PERFORMANCE,
    SERVED_PERFORMANCE,
    STAGES,
)
from ct_assets.production import GATE_CHECKS
from tests.conftest import REPOSITORY, START, generator, write_project

PACKAGES = ("ct_assets", "resources", "sensors")


def test_generic_top_level_packages_come_from_this_repository() -> None:
    # `resources`, `sensors` and `examples` are common names; an installed distribution must
    # not shadow ours.
    for module in (resources, sensors, examples):
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent.parent == REPOSITORY


def test_loading_the_code_location_imports_no_training_or_monitoring_library(
    tmp_path: Path,
) -> None:
    # Every run worker, sensor tick and CLI call loads the definitions: seconds each on two
    # cores if they pulled in what only the training, scoring and drift steps use.
    root = write_project(tmp_path / "p").root
    heavy = ("lightgbm", "sklearn", "scipy", "matplotlib", "optuna", "mlflow", "evidently")
    probe = (
        "import sys, ct_assets.definitions as d; d.defs(); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPOSITORY,
        env={**os.environ, "CT_PROJECT": str(root)},
    )
    assert done.stdout.strip() == ""


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


def test_dagster_cli_materializes_a_partition_of_a_user_project(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    project = write_project(tmp_path / "energy", "energy")
    source = generator("energy").demo_source(START, 500)
    generator("energy").write_atomically(source.day(0), project.landing_dir / source.day_name(0))
    env = {**os.environ, "DAGSTER_HOME": str(home), "CT_PROJECT": str(project.root)}
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [
            *(str(dagster), "asset", "materialize", "-m", "ct_assets.definitions"),
            *("--select", "*", "--partition", START.isoformat()),
        ],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for asset in ("raw_batches", "production_model"):
            record = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert record is not None, asset
            assert record.dagster_event.partition == START.isoformat()  # type: ignore[union-attr]
    assert (project.data_dir / "production_model" / f"{START.isoformat()}.json").exists()


# -- the package's shape --------------------------------------------------------------------------

# The demo dataset's column names: the product must not know them.
DEMO_COLUMNS = ("amount", "n_items", "channel", "country", "account_age_days", "entity_id")
ENERGY_COLUMNS = ("temperature_c", "load_kwh", "humidity_pct", "occupancy")


def product_files() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((REPOSITORY / package).rglob("*.py"))]


def test_no_product_module_knows_an_example_s_column_names() -> None:
    names = "|".join(DEMO_COLUMNS + ENERGY_COLUMNS)
    quoted = re.compile(rf"[\"']({names})[\"']")
    found = [
        f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}"
        for path in product_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line)
    ]
    assert found == []


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


# Stage modules: each builds assets; nothing but the definitions (and commands) assembles them.
STAGE_MODULES = {
    f"ct_assets.{name}"
    for name in (
        "raw",
        "validated",
        "features",
        "online",
        "splits",
        "candidates",
        "evaluations",
        "production",
        "drift",
    )
}
# The pure parts of ct_assets, which resources and sensors may use.
PURE = ("ct_assets.ml", "ct_assets.project", "ct_assets.ingest")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPOSITORY).with_suffix("").parts).removesuffix(".__init__")


def test_imports_point_one_way() -> None:
    broken = []
    for path in product_files():
        name = module_name(path)
        for imported in imports_of(path):
            top = imported.split(".")[0]
            if name.startswith(PURE) and top in ("resources", "sensors", "dagster"):
                broken.append(f"{name} (pure) imports {imported}")
            if name.startswith(("resources", "sensors")) and imported in STAGE_MODULES:
                broken.append(f"{name} imports the stage module {imported}")
            if name.startswith(("resources", "sensors")) and imported.startswith(
                ("ct_assets.definitions", "ct_assets.cli")
            ):
                broken.append(f"{name} imports {imported}")
            allowed = name == "ct_assets.definitions" or name.startswith("ct_assets.cli")
            if name.startswith("ct_assets") and top == "sensors" and not allowed:
                broken.append(f"{name} imports {imported}")
    assert broken == []
