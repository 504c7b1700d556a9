"""deploy/: the Kubernetes side, checked without a cluster.

A step's Kubernetes Job is built by dagster-k8s' own code from what the Helm values hand the run
launcher and the user-code deployment, and from the op tags of real assets of an example
project; the manifests and the objects inside the Helm values are validated against the
Kubernetes schemas of the version deploy/README.md names; the Dockerfile is read as text.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import json
import os
import re
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes_validate
import pytest
import yaml
from dagster_k8s import K8sRunLauncher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job, get_user_defined_k8s_config
from kubernetes.client import ApiClient
from kubernetes.utils import parse_quantity

from ct_assets.definitions import build_definitions
from ct_assets.names import (
    CANDIDATE_MODELS,
    MODEL_EVALUATIONS,
    RAW_BATCHES,
    RUN_KIND_TAG,
    TRAINING_RUNS,
    VALIDATED_BATCHES,
)
from resources.environments import PRODUCTION_VARIABLES as REQUIRED_IN_PRODUCTION
from resources.environments import resolve
from resources.k8s import GROUP_KINDS, K8S_CONFIG_TAG, STEP_KIND_LABEL
from tests.conftest import REPOSITORY, write_project

DEPLOY = REPOSITORY / "deploy"
VALUES = DEPLOY / "helm" / "values.yaml"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
DOCKERFILE = DEPLOY / "Dockerfile"
# The cluster version the manifests are written for; deploy/README.md names it.
KUBERNETES_VERSION = "1.31.0"
# Names the chart gives things for `helm install ct dagster/dagster -n ct`.
RELEASE, NAMESPACE = "ct", "ct"
FULLNAME = f"{RELEASE}-dagster"
NON_ROOT_UID = 10001
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


def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def manifests() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifest(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def user_deployment() -> dict[str, Any]:
    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    return deployment


def image_of(deployment: dict[str, Any]) -> str:
    return f"{deployment['image']['repository']}:{deployment['image']['tag']}"


# -- the step Job, built by dagster-k8s ---------------------------------------------------------


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    return build_definitions(write_project(tmp_path_factory.mktemp("deploy") / "shop"))


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[K8sRunLauncher]:
    """The run launcher the chart configures from values.yaml (its dagster.yaml `run_launcher`
    section), loaded from a kubeconfig that is only parsed: no cluster is ever contacted."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "none", "user": {"token": "unused"}}],
                "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
                "current-context": "none",
            }
        )
    )
    config = values()["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s = config.get("runK8sConfig", {})
    yield K8sRunLauncher(
        service_account_name=FULLNAME,
        instance_config_map=f"{FULLNAME}-instance",
        dagster_home="/opt/dagster/dagster_home",
        postgres_password_secret=values()["global"]["postgresqlSecretName"],
        image_pull_policy=config["imagePullPolicy"],
        job_namespace=NAMESPACE,
        load_incluster_config=False,
        kubeconfig_file=str(kubeconfig),
        env_config_maps=[f"{FULLNAME}-pipeline-env"],
        env_secrets=[secret["name"] for secret in config["envSecrets"]],
        security_context=config["securityContext"],
        run_k8s_config={
            "container_config": run_k8s.get("containerConfig", {}),
            "pod_spec_config": run_k8s.get("podSpecConfig", {}),
            "job_spec_config": run_k8s.get("jobSpecConfig", {}),
        },
    )


def user_code_context() -> dict[str, Any]:
    """What the chart hands launched runs from the user-code deployment
    (`includeConfigInLaunchedRuns`: its k8s container context)."""
    deployment = user_deployment()
    return {
        "k8s": {
            "image_pull_policy": deployment["image"]["pullPolicy"],
            "env_config_maps": [f"{FULLNAME}-{deployment['name']}-user-env"],
            "env_secrets": [secret["name"] for secret in deployment["envSecrets"]],
            "resources": deployment["resources"],
            "namespace": NAMESPACE,
            "service_account_name": f"{FULLNAME}-user-deployments",
            "env": deployment["env"],
            "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
        }
    }


def step_job(defs: dg.Definitions, launcher: K8sRunLauncher, asset: str) -> dict[str, Any]:
    """The Job the k8s executor would create for the step of `asset`, as a manifest: run
    launcher, then user code, then the step's own op tags, merged as `k8s_job_executor` does."""
    op_tags = defs.resolve_assets_def(asset).op.tags
    run = dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()))
    context = (
        K8sContainerContext.create_for_run(run, launcher, include_run_tags=False)
        .merge(K8sContainerContext.create_from_config(user_code_context()))
        .merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(op_tags)))
    )
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(image_of(user_deployment()), launcher),
        args=["dagster", "api", "execute_step"],
        job_name=f"dagster-step-{uuid.uuid4().hex[:12]}",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": run.job_name, "dagster/op": asset, "dagster/run-id": run.run_id},
    )
    return ApiClient().sanitize_for_serialization(job)


def container(job: dict[str, Any]) -> dict[str, Any]:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return only


def requested(job: dict[str, Any], quantity: str) -> float:
    return float(parse_quantity(container(job)["resources"]["requests"][quantity]))


def test_training_step_job(defs: dg.Definitions, launcher: K8sRunLauncher) -> None:
    job = step_job(defs, launcher, CANDIDATE_MODELS)
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    pod = job["spec"]["template"]
    main = container(job)

    assert main["image"] == image_of(user_deployment())
    assert {"secretRef": {"name": "ct-secrets"}} in main["envFrom"]
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env["CT_ENV"] == "production" and env["CT_EXECUTOR"] == "k8s"
    # The instance's PostgreSQL password, from the chart's secret, never a literal value.
    (password,) = [e for e in main["env"] if e["name"] == "DAGSTER_PG_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"]["name"] == "dagster-postgresql-secret"

    assert main["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    assert main["resources"]["limits"]["memory"] == "4Gi"
    assert pod["metadata"]["labels"][STEP_KIND_LABEL] == "training"
    assert pod["metadata"]["labels"]["dagster/op"] == CANDIDATE_MODELS
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "step_worker"

    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == NON_ROOT_UID
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400


def test_training_steps_ask_more_than_validation(
    defs: dg.Definitions, launcher: K8sRunLauncher
) -> None:
    training = step_job(defs, launcher, CANDIDATE_MODELS)
    evaluation = step_job(defs, launcher, MODEL_EVALUATIONS)
    validation = step_job(defs, launcher, VALIDATED_BATCHES)
    for quantity in ("cpu", "memory"):
        assert requested(training, quantity) > requested(validation, quantity)
        assert requested(evaluation, quantity) == requested(training, quantity)
    assert container(validation)["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    labels = validation["spec"]["template"]["metadata"]["labels"]
    assert labels[STEP_KIND_LABEL] == "light"
    # Everything but the resources is the same launcher's: secrets and the non-root context.
    assert container(validation)["envFrom"] == container(training)["envFrom"]
    assert validation["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == NON_ROOT_UID


def test_every_stage_group_has_a_step_kind(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    tagged = {
        graph.get(key).group_name
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_executable and K8S_CONFIG_TAG in defs.resolve_assets_def(key).op.tags
    }
    assert tagged and tagged <= set(GROUP_KINDS)
    # The op tag is the JSON dagster-k8s parses; a stage's own op tags sit beside it.
    drift = defs.resolve_assets_def("feature_drift").op.tags
    assert drift["dagster/priority"] == "-1"
    assert json.loads(drift[K8S_CONFIG_TAG])["container_config"]["resources"]["requests"]
    raw = get_user_defined_k8s_config(defs.resolve_assets_def(RAW_BATCHES).op.tags)
    assert raw.pod_template_spec_metadata["labels"][STEP_KIND_LABEL] == "light"


# -- manifests and Helm values against the Kubernetes schemas -----------------------------------


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
    vendored here, so its structure is asserted: it selects the Service and scrapes a port the
    Service names, on the path ct serve answers metrics on."""
    monitor = manifest("ServiceMonitor", "ct-serve")
    service = manifest("Service", "ct-serve")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert re.fullmatch(r"\d+s", endpoint["interval"])


def ct_parser() -> argparse.ArgumentParser:
    """ct's own command line (as `ct_assets.cli.main` builds it), to parse container args."""
    from ct_assets.cli import COMMANDS

    parser = argparse.ArgumentParser(prog="ct")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ct_assets.cli.{name}").register(commands)
    return parser


def test_serve_deployment() -> None:
    deployment = manifest("Deployment", "ct-serve")
    pod = deployment["spec"]["template"]
    (serve,) = pod["spec"]["containers"]
    assert serve["image"] == image_of(user_deployment())
    program, *args = serve["args"]
    parsed = ct_parser().parse_args(args)
    assert (program, parsed.command, parsed.host, parsed.port) == ("ct", "serve", "0.0.0.0", 8000)
    (port,) = serve["ports"]
    assert port["containerPort"] == parsed.port
    assert serve["readinessProbe"]["httpGet"] == {"path": "/ready", "port": port["name"]}
    assert serve["livenessProbe"]["httpGet"] == {"path": "/health", "port": port["name"]}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == NON_ROOT_UID
    assert {"secretRef": {"name": "ct-secrets"}} in serve["envFrom"]
    service = manifest("Service", "ct-serve")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    # An HPA on CPU utilization needs the CPU request it computes the utilization of.
    hpa = manifest("HorizontalPodAutoscaler", "ct-serve")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and serve["resources"]["requests"]["cpu"]


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


# -- the Dockerfile -----------------------------------------------------------------------------


def dockerfile_stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(base image with ARG defaults resolved, [(INSTRUCTION, arguments)]) per stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [tuple(line.split(None, 1)) for line in lines if line and line[0] != "#"]
    defaults: dict[str, str] = {}
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for keyword, rest in instructions:
        keyword = keyword.upper()
        if keyword == "ARG" and not stages and "=" in rest:
            name, default = rest.split("=", 1)
            defaults[name] = default
        elif keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], rest.split()[0])
            stages.append((image, []))
        elif stages:
            stages[-1][1].append((keyword, rest))
    return stages


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final_image, final = stages[-1]
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", final_image)
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1])
    assert int(users[-1].split(":")[0]) == NON_ROOT_UID
    exposed = {port for keyword, rest in final if keyword == "EXPOSE" for port in rest.split()}
    assert exposed == {"4000", "8000"}

    builds = [rest for _, steps in stages[:-1] for keyword, rest in steps if keyword == "RUN"]
    syncs = [run for run in builds if "uv sync" in run]
    assert len(syncs) == 2 and all("--locked" in s and "--no-dev" in s for s in syncs)
    assert "--no-install-project" in syncs[0] and "--no-install-project" not in syncs[1]

    installed = " ".join(rest for keyword, rest in final if keyword == "RUN")
    for tool in ("gcc", "build-essential", "g++", "make", "uv ", "pip install"):
        assert tool not in installed
    copied = [rest for keyword, rest in final if keyword == "COPY"]
    assert [c for c in copied if c.startswith("--from=")] == [
        "--from=builder /opt/ct/venv /opt/ct/venv"
    ]


def test_dockerfile_copies_what_the_context_holds() -> None:
    """Every file the builder copies exists and is not excluded by .dockerignore, and the
    default baked project is a real ct.yaml."""
    ignored = [
        line.strip()
        for line in (REPOSITORY / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = dockerfile_stages()
    sources = [
        source
        for _, steps in stages
        for keyword, rest in steps
        if keyword == "COPY" and not rest.startswith("--from=")
        for source in rest.split()[:-1]
    ]
    project_arg = next(
        rest.split("=", 1)[1]
        for keyword, rest in stages[-1][1]
        if keyword == "ARG" and rest.startswith("PROJECT=")
    )
    sources = [s.replace("${PROJECT}", project_arg) for s in sources]
    assert "pyproject.toml" in sources and "uv.lock" in sources
    for source in sources:
        assert (REPOSITORY / source).exists(), source
        patterns = [p.removeprefix("**/") for p in ignored]
        parts = Path(source).parts
        assert not any(fnmatch.fnmatch(part, p) for p in patterns for part in parts), source
        assert not any(fnmatch.fnmatch(source, p) for p in ignored), source
    # The wheel the final `uv sync` builds holds these packages: each must be in the context.
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert set(packages) <= set(sources)
    assert pyproject["project"]["readme"] in sources
