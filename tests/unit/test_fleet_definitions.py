"""Unit tests of several projects in one code location: ct_assets/project/fleet.py, the
namespace of ct_assets/names.py and `build_fleet_definitions`.

In process and fast: definitions are built and resolved, nothing runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ct_assets.definitions import build_definitions, defs
from ct_assets.names import RAW_BATCHES, STAGES, Namespace
from ct_assets.project.fleet import load_fleet
from ct_assets.project.load import ProjectError
from tests.conftest import write_project


def two_projects(folder: Path) -> None:
    write_project(folder / "churn", "shop", {"name": "churn"})
    write_project(folder / "power", "energy", {"name": "power-use.v2"})


def test_a_fleet_holds_every_project_under_its_name_on_one_instance(tmp_path: Path) -> None:
    two_projects(tmp_path)
    fleet = load_fleet(tmp_path, environ={})
    assert [p.spec.name for p in fleet.projects] == ["churn", "power-use.v2"]
    # A name's characters are made fit for every Dagster name (sensor, job, resource, group).
    assert [p.namespace.prefix for p in fleet.projects] == ["churn", "power_use_v2"]
    assert {p.dagster_home for p in fleet.projects} == {tmp_path / ".ct" / "dagster_home"}
    # Each keeps its own data and MLflow store beside its ct.yaml.
    assert [p.data_dir for p in fleet.projects] == [
        tmp_path / "churn" / ".ct" / "data",
        tmp_path / "power" / ".ct" / "data",
    ]
    assert fleet.project("power_use_v2") is fleet.projects[1]
    assert fleet.project(tmp_path / "churn") is fleet.projects[0]
    with pytest.raises(ProjectError, match="no project 'nope' in this fleet"):
        fleet.project("nope")


def test_the_shared_run_queue_takes_the_largest_limits(tmp_path: Path) -> None:
    write_project(tmp_path / "a", "shop", {"name": "a", "runs": {"max_concurrent": 6}})
    write_project(tmp_path / "b", "energy", {"name": "b", "runs": {"training": 3}})
    runs = load_fleet(tmp_path, environ={}).instance_project().spec.runs
    assert (runs.max_concurrent, runs.training, runs.backfills) == (6, 3, 2)


def test_two_projects_share_no_key_name_pool_or_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_projects(tmp_path)
    monkeypatch.setenv("CT_FLEET", str(tmp_path))
    loaded = defs()
    graph = loaded.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for prefix in ("churn", "power_use_v2"):
        assert {f"{prefix}/{stage}" for stage in STAGES} <= keys
        assert f"{prefix}/sources/file_drop" in keys
    assert all(k.split("/")[0] in ("churn", "power_use_v2") for k in keys), keys
    # Inputs and checks stay inside their project.
    for prefix in ("churn", "power_use_v2"):
        for key in graph.materializable_asset_keys:
            if key.path[0] == prefix:
                assert all(p.path[0] == prefix for p in graph.get(key).parent_keys), key
        production = graph.get(dg.AssetKey([prefix, "production_model"]))
        assert production.pools == {f"{prefix}/promotion"}
        assert production.group_name == f"{prefix}/production"
    checks = {k.asset_key.path[0] for k in graph.asset_check_keys}
    assert checks == {"churn", "power_use_v2"}
    sensors = [s.name for s in loaded.sensors or []]
    assert len(sensors) == len(set(sensors)) == 16
    assert "churn__file_drop_sensor" in sensors and "power_use_v2__ct_automation" in sensors
    # Each project's resources under its own name, configured for its own places.
    resources = loaded.resources or {}
    assert (
        resources["churn__batch_store"].base_dir != resources["power_use_v2__batch_store"].base_dir
    )
    assert resources["churn__mlflow"].registered_model == "churn"
    assert resources["power_use_v2__mlflow"].registered_model == "power-use.v2"
    assert resources["churn__mlflow"].experiment == "churn"
    assert {j.name for j in loaded.jobs or []} == {"churn__ingest", "power_use_v2__ingest"}
    # Each automation sensor evaluates only its project's assets.
    automation = {
        s.name: s
        for s in loaded.sensors or []
        if isinstance(s, dg.AutomationConditionSensorDefinition)
    }
    churn = automation["churn__ct_automation"].asset_selection.resolve(graph)
    assert churn and all(k.path[0] == "churn" for k in churn)
    # Its runs say whose they are.
    assert automation["churn__ct_automation"].run_tags == {"ct/project": "churn"}
    assert automation["power_use_v2__ct_training_automation"].run_tags == {
        "ct/run-kind": "training",
        "ct/project": "power-use.v2",
    }
    loaded.resolve_implicit_global_asset_job_def()


def test_a_lone_install_keeps_its_bare_keys(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "shop")
    assert project.namespace == Namespace()
    graph = build_definitions(project).resolve_asset_graph()
    assert dg.AssetKey(RAW_BATCHES) in graph.materializable_asset_keys
    assert all(len(k.path) == 1 for k in graph.materializable_asset_keys)


def test_a_fleets_variables_hold_a_folder_per_project(tmp_path: Path) -> None:
    two_projects(tmp_path / "fleet")
    env = {"CT_HOME": str(tmp_path / "homes"), "CT_LANDING_URL": "s3://drops/in/"}
    churn, power = load_fleet(tmp_path / "fleet", environ=env).projects
    assert churn.home == tmp_path / "homes" / "churn"
    assert power.landing == "s3://drops/in/power_use_v2"
    with pytest.raises(ProjectError, match="CT_REGISTERED_MODEL=m: one registered model"):
        load_fleet(tmp_path / "fleet", environ={"CT_REGISTERED_MODEL": "m"})


def test_two_projects_of_one_name_are_refused_naming_both_files(tmp_path: Path) -> None:
    write_project(tmp_path / "a", "shop", {"name": "churn"})
    write_project(tmp_path / "b", "energy", {"name": "churn"})
    with pytest.raises(
        ProjectError, match=r"b/ct.yaml: name: 'churn' is also the name of .*a/ct.yaml"
    ):
        load_fleet(tmp_path, environ={})


def test_two_projects_of_one_registered_model_are_refused(tmp_path: Path) -> None:
    write_project(tmp_path / "a", "shop", {"name": "a", "registered_model": "m"})
    write_project(tmp_path / "b", "energy", {"name": "b", "registered_model": "m"})
    with pytest.raises(ProjectError, match=r"b/ct.yaml: registered model 'm' is also .*a/ct"):
        load_fleet(tmp_path, environ={})


def test_a_folder_without_projects_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no ct\.yaml under this folder"):
        load_fleet(tmp_path, environ={})


class Thing(dg.ConfigurableResource):
    value: str


def test_resources_reach_a_namespaced_stage_under_their_short_names(tmp_path: Path) -> None:
    calls: list[str] = []

    def uses(context: dg.AssetExecutionContext, thing: Thing) -> None:
        calls.append(thing.value)

    namespace = Namespace.of("churn")
    asset = dg.asset(key=namespace.key("a"))(namespace.resources(uses))
    assert (
        "churn__thing" in asset.required_resource_keys
        and "thing" not in asset.required_resource_keys
    )
    assert dg.materialize([asset], resources={"churn__thing": Thing(value="x")}).success
    assert calls == ["x"]
