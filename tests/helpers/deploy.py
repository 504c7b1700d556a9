"""Helpers shared by several test files, unit and integration:
the ones tests/test_deploy.py held."""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster_k8s import K8sRunLauncher

from tests.conftest import REPOSITORY

DEPLOY = REPOSITORY / "deploy"


VALUES = DEPLOY / "helm" / "values.yaml"


MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


# The cluster version the manifests are written for; deploy/README.md names it.
KUBERNETES_VERSION = "1.31.0"


# Names the chart gives things for `helm install ct dagster/dagster -n ct`.
RELEASE, NAMESPACE = "ct", "ct"


FULLNAME = f"{RELEASE}-dagster"


NON_ROOT_UID = 10001


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


DOCKERFILE = DEPLOY / "Dockerfile"


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


def baked_fleet() -> str:
    """The folder of projects the image bakes by default (`ARG FLEET`), in the build context."""
    return next(
        rest.split("=", 1)[1]
        for keyword, rest in dockerfile_stages()[-1][1]
        if keyword == "ARG" and rest.startswith("FLEET=")
    )


def image_environment() -> dict[str, str]:
    """The final stage's ENV, as the image's processes see it."""
    pairs = [
        item.split("=", 1)
        for keyword, rest in dockerfile_stages()[-1][1]
        if keyword == "ENV"
        for item in rest.split()
    ]
    return {name: value for name, value in pairs}


# Every object serving a project carries its project's name under this label.
PROJECT_LABEL = "ct/project"
SERVING_KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget")


def serving(kind: str) -> list[dict[str, Any]]:
    """The `ct serve` objects of one kind, one per served project."""
    return [
        doc
        for doc in manifests()
        if doc["kind"] == kind and doc["metadata"]["name"].startswith("ct-serve-")
    ]


def fleet_folder() -> str:
    (fleet,) = [e["value"] for e in user_deployment()["env"] if e["name"] == "CT_FLEET"]
    return str(fleet)


def kubernetes_name(project: str) -> str:
    return project.lower().replace("_", "-")


def ct_parser() -> argparse.ArgumentParser:
    """ct's own command line (as `ct_assets.cli.main` builds it), to parse container args."""
    from ct_assets.cli import COMMANDS

    parser = argparse.ArgumentParser(prog="ct")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ct_assets.cli.{name}").register(commands)
    return parser


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


def container(job: dict[str, Any]) -> dict[str, Any]:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return only
