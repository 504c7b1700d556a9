"""Unit tests of the deployment files (deploy/, Dockerfile): manifests.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helpers.deploy import (
    DEPLOY,
    KUBERNETES_VERSION,
    NON_ROOT_UID,
    PROJECT_LABEL,
    SERVING_KINDS,
    ct_parser,
    fleet_folder,
    image_of,
    kubernetes_name,
    manifest,
    manifests,
    serving,
    user_deployment,
    values,
)


def test_readme_names_the_validated_version() -> None:
    major_minor = KUBERNETES_VERSION.rsplit(".", 1)[0]
    assert f"Kubernetes {major_minor}" in (DEPLOY / "README.md").read_text()


# The core API's objects; the ServiceMonitor (a Prometheus Operator CRD) has no schema offline.
CORE = [doc for doc in manifests() if "." not in doc["apiVersion"].split("/")[0]]


CORE += [doc for doc in manifests() if doc["apiVersion"].split("/")[0].endswith(".k8s.io")]


def test_every_manifest_is_core_or_the_service_monitor() -> None:
    others = [doc for doc in manifests() if doc not in CORE]
    assert [(d["apiVersion"], d["kind"]) for d in others] == [
        ("monitoring.coreos.com/v1", "ServiceMonitor")
    ]


@pytest.mark.parametrize("doc", CORE, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_is_valid(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_service_monitor() -> None:
    """No ServiceMonitor schema ships with kubernetes-validate and the operator's CRD is not
    vendored here, so its structure is asserted: it selects every project's serving Service,
    scrapes a port each names, on the path ct serve answers metrics on, and labels each series
    with the Service's project."""
    monitor = manifest("ServiceMonitor", "ct-serve")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {
        "selector",
        "endpoints",
        "namespaceSelector",
        "jobLabel",
        "targetLabels",
    }
    (endpoint,) = monitor["spec"]["endpoints"]
    services = serving("Service")
    assert len(services) >= 2
    for service in services:
        labels = service["metadata"]["labels"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
        assert set(monitor["spec"]["targetLabels"]) <= set(labels)
    assert monitor["spec"]["targetLabels"] == [PROJECT_LABEL]
    assert endpoint["path"] == "/metrics"
    assert re.fullmatch(r"\d+s", endpoint["interval"])


@pytest.mark.parametrize(
    "deployment", serving("Deployment"), ids=lambda d: str(d["metadata"]["name"])
)
def test_serve_deployment(deployment: dict[str, Any]) -> None:
    """Each project's `ct serve`: its pods run ct's own command line on the fleet the code
    location loads, for the project its label names; its Service, autoscaler and disruption
    budget reach its pods and no other project's."""
    pod = deployment["spec"]["template"]
    project = deployment["metadata"]["labels"][PROJECT_LABEL]
    name = deployment["metadata"]["name"]
    assert pod["metadata"]["labels"][PROJECT_LABEL] == project
    (serve,) = pod["spec"]["containers"]
    assert serve["image"] == image_of(user_deployment())
    program, *args = serve["args"]
    parsed = ct_parser().parse_args(args)
    assert (program, parsed.command, parsed.host, parsed.port) == ("ct", "serve", "0.0.0.0", 8000)
    assert (parsed.fleet, parsed.project) == (fleet_folder(), project)
    (port,) = serve["ports"]
    assert port["containerPort"] == parsed.port
    assert serve["readinessProbe"]["httpGet"] == {"path": "/ready", "port": port["name"]}
    assert serve["livenessProbe"]["httpGet"] == {"path": "/health", "port": port["name"]}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == NON_ROOT_UID
    assert {"secretRef": {"name": "ct-secrets"}} in serve["envFrom"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector[PROJECT_LABEL] == project
    service = manifest("Service", name)
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"][PROJECT_LABEL] == project
    budget = manifest("PodDisruptionBudget", name)
    assert budget["spec"]["selector"]["matchLabels"] == selector
    # An HPA on CPU utilization needs the CPU request it computes the utilization of.
    hpa = manifest("HorizontalPodAutoscaler", name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == name
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and serve["resources"]["requests"]["cpu"]


def test_every_served_project_has_its_own_objects() -> None:
    """Two projects or more, each with the four objects under a name of its own (a Kubernetes
    name: lower case, `-`), and no project served twice."""
    projects = [d["metadata"]["labels"][PROJECT_LABEL] for d in serving("Deployment")]
    assert len(projects) >= 2 and len(set(projects)) == len(projects)
    for kind in SERVING_KINDS:
        names = [d["metadata"]["name"] for d in serving(kind)]
        assert names == [f"ct-serve-{kubernetes_name(p)}" for p in projects], kind
    for project in projects:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", kubernetes_name(project))
        assert len(f"ct-serve-{kubernetes_name(project)}") <= 63


def pod_of(pod_spec: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    spec = {**pod_spec, "containers": [{"name": "c", "image": "ct", **container}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "values"}, "spec": spec}


def test_values_embed_valid_kubernetes_objects() -> None:
    """The pieces of values.yaml the chart pastes into pod specs, validated in a Pod."""
    deployment = user_deployment()
    code_server = pod_of(
        {"securityContext": deployment["podSecurityContext"]},
        {"securityContext": deployment["securityContext"], "resources": deployment["resources"]},
    )
    launcher = values()["runLauncher"]["config"]["k8sRunLauncher"]
    run_pod = pod_of(
        launcher["runK8sConfig"]["podSpecConfig"], {"securityContext": launcher["securityContext"]}
    )
    for pod in (code_server, run_pod):
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    assert deployment["podSecurityContext"]["runAsUser"] == NON_ROOT_UID
    assert launcher["runK8sConfig"]["podSpecConfig"]["securityContext"]["runAsNonRoot"] is True


def test_values_run_the_user_code_server() -> None:
    config = values()
    deployment = user_deployment()
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "ct_assets.definitions"]
    assert importlib.util.find_spec("ct_assets.definitions") is not None
    assert deployment["port"] == 4000
    assert config["runLauncher"]["type"] == "K8sRunLauncher"
    assert config["postgresql"]["enabled"] is False and config["postgresql"]["postgresqlHost"]
    assert config["generatePostgresqlPasswordSecret"] is False
    assert config["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert config["telemetry"]["enabled"] is False


def test_values_match_the_charts_schema() -> None:
    """Against the chart's own values.schema.json, when a copy of the chart is at hand
    (`helm pull dagster/dagster --version 1.13.27 --untar`, then CT_DAGSTER_CHART=<its folder>);
    the schema is not vendored in this repository."""
    chart = os.environ.get("CT_DAGSTER_CHART")
    if not chart or not (Path(chart) / "values.schema.json").is_file():
        pytest.skip("CT_DAGSTER_CHART does not name a dagster chart folder with values.schema.json")
    import jsonschema

    schema = json.loads((Path(chart) / "values.schema.json").read_text())
    chart_defaults = yaml.safe_load((Path(chart) / "values.yaml").read_text())
    jsonschema.validate(_overlay(chart_defaults, values()), schema)


def _overlay(base: Any, over: Any) -> Any:
    """Helm's merge of a values file over the chart's defaults (maps merge, the rest replaces)."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: _overlay(base.get(k), over[k]) if k in over else base[k] for k in base | over}
    return over
