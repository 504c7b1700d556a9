"""Unit tests of resources/k8s.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import json
import uuid
from typing import Any

import dagster as dg
import kubernetes_validate
import pytest
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
    VALIDATED_BATCHES,
)
from resources.k8s import GROUP_KINDS, K8S_CONFIG_TAG, STEP_KIND_LABEL
from tests.conftest import write_project
from tests.helpers.deploy import (
    FULLNAME,
    KUBERNETES_VERSION,
    NAMESPACE,
    NON_ROOT_UID,
    container,
    image_of,
    user_deployment,
)


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    return build_definitions(write_project(tmp_path_factory.mktemp("deploy") / "shop"))


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
