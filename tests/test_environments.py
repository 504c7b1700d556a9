"""One switch decides where a project runs (`resources/environments.py`): pure tests of what
each environment resolves to, with no service."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster_k8s import k8s_job_executor

from ct_assets.project.load import ProjectError, load_project
from resources.environments import resolve
from resources.storage import BatchStore
from tests.conftest import write_project

PRODUCTION = {
    "CT_DAGSTER_POSTGRES_URL": "postgresql+psycopg2://ct@db.internal:5432/dagster",
    "CT_DATA_URL": "s3://ct-data/prod",
    "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
    "CT_ONLINE_STORE_URL": "redis://redis.internal:6379/0",
}


def test_local_needs_nothing_and_keeps_everything_under_the_project(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    environment = resolve(project, {})
    assert environment.name == "local" and environment.missing() == []
    assert environment.data_root() == project.data_dir
    assert environment.dagster_home == project.dagster_home
    assert environment.tracking_uri.startswith("sqlite:///")
    assert "storage" not in environment.instance_config()
    assert environment.executor_def() is dg.in_process_executor
    home = environment.prepare_instance()
    assert (home / "dagster.yaml").exists()


def test_production_names_every_missing_variable_and_what_it_is_for(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", changes={"environment": "production"})
    with pytest.raises(ProjectError) as refused:
        resolve(project, {"CT_DATA_URL": "s3://b/x"}).require()
    message = str(refused.value)
    for variable in ("CT_DAGSTER_POSTGRES_URL", "MLFLOW_TRACKING_URI", "CT_ONLINE_STORE_URL"):
        assert variable in message
    assert "CT_DATA_URL" not in message


def test_a_bare_postgresql_url_is_refused_with_the_driver_to_name(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", changes={"environment": "production"})
    environ = {**PRODUCTION, "CT_DAGSTER_POSTGRES_URL": "postgresql://ct@db/dagster"}
    with pytest.raises(ProjectError, match=r"postgresql\+psycopg2://"):
        resolve(project, environ).require()


def test_production_renders_storage_and_run_limits_from_ct_yaml(tmp_path: Path) -> None:
    runs = {"max_concurrent": 6, "training": 2, "backfills": 3}
    project = write_project(tmp_path / "p", changes={"environment": "production", "runs": runs})
    environment = resolve(project, {**PRODUCTION, "CT_EXECUTOR": "k8s"}).require()
    config = environment.instance_config()
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "CT_DAGSTER_POSTGRES_URL"}}}
    limits = config["concurrency"]["runs"]
    assert limits["max_concurrent_runs"] == 6
    assert {"key": "ct/run-kind", "value": "training", "limit": 2} in limits[
        "tag_concurrency_limits"
    ]
    assert {"key": "dagster/backfill", "limit": 3} in limits["tag_concurrency_limits"]
    # A production instance never shares its home with the local one.
    assert environment.dagster_home != project.dagster_home
    assert environment.executor_def() is k8s_job_executor
    child = environment.child_env({})
    assert child["CT_ENV"] == "production" and child["DAGSTER_HOME"] == str(
        environment.dagster_home
    )


def test_production_resources_are_env_vars_resolved_when_a_run_needs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "p", changes={"environment": "production"})
    before = dict(os.environ)
    resources = resolve(project, PRODUCTION).resources()
    assert dict(os.environ) == before  # resolving writes nothing to the environment
    data = tmp_path / "elsewhere"
    monkeypatch.setenv("CT_DATA_URL", str(data))
    with dg.build_resources({"batch_store": resources["batch_store"]}) as built:
        store: BatchStore = built.batch_store
        assert store.root == data


def test_ct_env_lies_over_ct_yaml(tmp_path: Path) -> None:
    write_project(tmp_path / "p")
    project = load_project(tmp_path / "p", environ={"CT_ENV": "production"})
    assert resolve(project, PRODUCTION).name == "production"
