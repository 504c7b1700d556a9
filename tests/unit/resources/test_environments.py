"""Unit tests of resources/environments.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_k8s import k8s_job_executor

from ct_assets.names import (
    RUN_KIND_TAG,
    TRAINING_RUNS,
)
from ct_assets.project.load import ProjectError, load_project
from resources.environments import PRODUCTION_VARIABLES as REQUIRED_IN_PRODUCTION
from resources.environments import resolve
from tests.conftest import REPOSITORY, write_project
from tests.helpers.deploy import manifests, user_deployment, values
from tests.helpers.environments import PRODUCTION

# The production environment's variables that every ct pod must receive (common brief).
PRODUCTION_VARIABLES = {
    "CT_ENV",
    "CT_DAGSTER_POSTGRES_URL",
    "CT_DATA_URL",
    "CT_LANDING_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "MLFLOW_TRACKING_URI",
    "CT_ONLINE_STORE_URL",
}


def test_secrets_cover_what_pods_read() -> None:
    """Every secret a pod or the chart reads exists in the example, and every production
    variable reaches ct's pods (from ct-secrets or the deployment's own env)."""
    secrets = {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "Secret"}
    referenced = {
        source["secretRef"]["name"]
        for doc in manifests()
        if doc["kind"] == "Deployment"
        for c in doc["spec"]["template"]["spec"]["containers"]
        for source in c.get("envFrom", [])
    }
    config = values()
    referenced |= {s["name"] for s in user_deployment()["envSecrets"]}
    referenced |= {
        s["name"] for s in config["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    }
    referenced.add(config["global"]["postgresqlSecretName"])
    assert referenced <= set(secrets)
    assert "postgresql-password" in secrets[config["global"]["postgresqlSecretName"]]["stringData"]
    given = set(secrets["ct-secrets"]["stringData"]) | {e["name"] for e in user_deployment()["env"]}
    required = {name for name, (_, needed) in REQUIRED_IN_PRODUCTION.items() if needed}
    assert given >= PRODUCTION_VARIABLES | required


def test_run_limits_equal_cts_instance_config(tmp_path: Path) -> None:
    """The chart's run queue and pools, and ct's own production dagster.yaml, hold the same
    limits (for the default `runs:` of ct.yaml)."""
    project = write_project(tmp_path / "shop", changes={"environment": "production"})
    concurrency = resolve(project, environ={}).instance_config()["concurrency"]
    config = values()
    queued = config["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    runs = concurrency["runs"]
    assert runs["max_concurrent_runs"] == queued["maxConcurrentRuns"] == 4
    assert runs["tag_concurrency_limits"] == queued["tagConcurrencyLimits"]
    training = {"key": RUN_KIND_TAG, "value": TRAINING_RUNS, "limit": 1}
    assert training in queued["tagConcurrencyLimits"]
    assert {"key": "dagster/backfill", "limit": 2} in queued["tagConcurrencyLimits"]
    assert config["concurrency"]["enabled"] is True
    pools = config["concurrency"]["pools"]
    assert pools["defaultLimit"] == concurrency["pools"]["default_limit"] == 1
    # The chart fails on run limits set in both places.
    assert "runs" not in config["concurrency"]


def test_dead_runs_are_failed_and_retried_in_every_instance(tmp_path: Path) -> None:
    """Run monitoring and run retries: on in ct's local dagster.yaml, in the production config
    ct renders, and in the chart's values, with the same retry policy (one retry, crashes only)
    and a monitoring poll short enough that a dead run is failed within a minute."""
    project = write_project(tmp_path / "shop", changes={"environment": "production"})
    rendered = resolve(project, environ={}).instance_config()
    local = yaml.safe_load((REPOSITORY / "dagster.yaml").read_text())
    daemon = values()["dagsterDaemon"]
    for config in (local, rendered):
        assert config["run_monitoring"]["enabled"] is True
        assert config["run_monitoring"]["poll_interval_seconds"] <= 60
        assert config["run_retries"] == {
            "enabled": True,
            "max_retries": 1,
            "retry_on_asset_or_op_failure": False,
        }
        # Dagster's default launcher cannot tell a dead worker: ct's can.
        assert config["run_launcher"]["class"] == "LocalRunLauncher"
    assert daemon["runMonitoring"]["enabled"] is True
    assert daemon["runMonitoring"]["pollIntervalSeconds"] <= 60
    assert daemon["runRetries"] == {
        "enabled": True,
        "maxRetries": 1,
        "retryOnAssetOrOpFailure": False,
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


def test_ct_env_lies_over_ct_yaml(tmp_path: Path) -> None:
    write_project(tmp_path / "p")
    project = load_project(tmp_path / "p", environ={"CT_ENV": "production"})
    assert resolve(project, PRODUCTION).name == "production"
