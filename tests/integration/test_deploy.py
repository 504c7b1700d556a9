"""deploy/: the Kubernetes side, checked without a cluster.

A step's Kubernetes Job is built by dagster-k8s' own code from what the Helm values hand the run
launcher and the user-code deployment, and from the op tags of real assets of an example
project; the manifests and the objects inside the Helm values are validated against the
Kubernetes schemas of the version deploy/README.md names; the Dockerfile is read as text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPOSITORY
from tests.helpers.deploy import (
    NAMESPACE,
    baked_fleet,
    image_environment,
    manifest,
    user_deployment,
)

# -- manifests and Helm values against the Kubernetes schemas -----------------------------------


def test_mlflow_server() -> None:
    """The container's arguments parsed by MLflow's own `mlflow server` command line."""
    from mlflow.cli import cli
    from mlflow.server.security_utils import is_allowed_host_header

    deployment = manifest("Deployment", "mlflow")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    assert server["command"] == ["mlflow", "server"]
    params = cli.commands["server"].make_context("server", list(server["args"])).params
    assert params["serve_artifacts"] is True
    # Secrets only through the environment: Kubernetes expands $(VAR) from the pod's env.
    assert params["backend_store_uri"] == "$(MLFLOW_BACKEND_STORE_URI)"
    assert params["artifacts_destination"] == "$(MLFLOW_ARTIFACTS_DESTINATION)"
    (port,) = server["ports"]
    assert port["containerPort"] == params["port"]
    assert server["readinessProbe"]["httpGet"] == {"path": "/health", "port": port["name"]}
    service = manifest("Service", "mlflow")
    assert service["spec"]["type"] == "ClusterIP"
    # ct reaches the server by the Service's name, which MLflow's Host check must let through.
    tracking = manifest("Secret", "ct-secrets")["stringData"]["MLFLOW_TRACKING_URI"]
    host = tracking.split("://", 1)[1].split("/", 1)[0]
    assert host == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    assert is_allowed_host_header(params["allowed_hosts"].split(","), host)
    assert is_allowed_host_header(params["allowed_hosts"].split(","), f"mlflow.{NAMESPACE}.svc")


def test_the_release_loads_every_project_of_the_baked_fleet(tmp_path: Path) -> None:
    """The user-code deployment's own command line, in the production environment of the
    release (CT_FLEET, CT_ENV and CT_EXECUTOR from the Helm values, the secrets' variables
    declared), loads the fleet the image bakes: every project under its name, none bare."""
    fleet = tmp_path / "projects"
    shutil.copytree(
        REPOSITORY / baked_fleet(), fleet, ignore=shutil.ignore_patterns(".ct", "landing")
    )
    env = {e["name"]: e["value"] for e in user_deployment()["env"]}
    secrets = manifest("Secret", "ct-secrets")["stringData"]
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CT_", "DAGSTER_"))},
        **secrets,
        "CT_DAGSTER_POSTGRES_URL": "postgresql+psycopg2://ct@127.0.0.1:9/ct",
        **env,
        "CT_FLEET": str(fleet),
        "DAGSTER_HOME": str(tmp_path),
    }
    # A lone project's landing would be laid over both projects' (deploy/README.md).
    environ.pop("CT_LANDING_URL")
    assert env["CT_FLEET"] == image_environment()["CT_FLEET"]
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "asset", "list"]
        + user_deployment()["dagsterApiGrpcArgs"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    keys = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
    projects = sorted(p.name for p in fleet.iterdir() if (p / "ct.yaml").is_file())
    assert len(projects) >= 2
    assert sorted({key.split("/", 1)[0] for key in keys}) == projects, keys
    for project in projects:
        assert f"{project}/raw_batches" in keys
