"""deploy/: the Kubernetes side, checked without a cluster.

A step's Kubernetes Job is built by dagster-k8s' own code from what the Helm values hand the run
launcher and the user-code deployment, and from the op tags of real assets of an example
project; the manifests and the objects inside the Helm values are validated against the
Kubernetes schemas of the version deploy/README.md names; the Dockerfile is read as text.
"""

from __future__ import annotations

from tests.helpers.deploy import NAMESPACE, manifest

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
