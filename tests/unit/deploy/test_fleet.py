"""Unit tests of the deployment files (deploy/, Dockerfile): one release serving a fleet.

The image, the Helm values and `ct serve`'s manifests agree on the folder of projects; every
served project has its own objects; the fleet's projects keep the release's run limits and
pools. In process and fast: no Dagster instance, daemon, service, subprocess or long training.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes_validate
import pytest
import yaml

from ct_assets.definitions import build_fleet_definitions
from ct_assets.names import CANDIDATE_MODELS, PRODUCTION_MODEL, RUN_KIND_TAG, Namespace
from ct_assets.project.fleet import Fleet, load_fleet
from resources.environments import resolve
from tests.conftest import REPOSITORY, write_project
from tests.helpers.deploy import (
    DEPLOY,
    KUBERNETES_VERSION,
    PROJECT_LABEL,
    SERVING_KINDS,
    baked_fleet,
    dockerfile_stages,
    fleet_folder,
    image_environment,
    kubernetes_name,
    serving,
    user_deployment,
    values,
)

# A binary task and a regression: the fleet's projects need not share anything but the release.
EXAMPLES = ("shop", "energy")


def served_projects() -> list[str]:
    return [d["metadata"]["labels"][PROJECT_LABEL] for d in serving("Deployment")]


def argument_after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_the_release_loads_the_fleet_the_image_bakes() -> None:
    """The code location, every `ct serve` and the image name one folder of projects; the
    image copies the baked fleet there; that fleet loads, and every project of it is served."""
    folder = fleet_folder()
    assert image_environment()["CT_FLEET"] == folder
    assert "CT_PROJECT" not in {e["name"] for e in user_deployment()["env"]}
    for deployment in serving("Deployment"):
        (serve,) = deployment["spec"]["template"]["spec"]["containers"]
        assert argument_after(serve["args"], "--fleet") == folder
        assert "CT_PROJECT" not in {e["name"] for e in serve.get("env", [])}
    copies = [
        rest.split()
        for keyword, rest in dockerfile_stages()[-1][1]
        if keyword == "COPY" and rest.startswith("${FLEET}")
    ]
    assert copies == [["${FLEET}", folder]]

    fleet = load_fleet(REPOSITORY / baked_fleet(), environ={})
    names = sorted(p.spec.name for p in fleet.projects)
    assert names == sorted(served_projects())
    assert {p.spec.task.type for p in fleet.projects} == {"binary", "regression"}


def renamed(doc: Any, old: str, new: str) -> Any:
    """`doc` with the project `old` made `new`: its label and argument, and its objects' names."""
    if isinstance(doc, dict):
        return {key: renamed(value, old, new) for key, value in doc.items()}
    if isinstance(doc, list):
        return [renamed(item, old, new) for item in doc]
    if doc == old:
        return new
    if doc == f"ct-serve-{kubernetes_name(old)}":
        return f"ct-serve-{kubernetes_name(new)}"
    return doc


def test_every_projects_serving_objects_are_the_first_ones_but_for_its_name() -> None:
    """The manifests repeat a project's four objects per project: they may differ only in the
    project's name, so a fix to one project's serving cannot miss the others."""
    first, *others = served_projects()
    assert others
    for kind in SERVING_KINDS:
        by_project = {d["metadata"]["labels"][PROJECT_LABEL]: d for d in serving(kind)}
        for project in others:
            assert by_project[project] == renamed(by_project[first], first, project), (
                kind,
                project,
            )


def readme_volume() -> dict[str, Any]:
    """The ConfigMap volume deploy/README.md shows for mounting the fleet."""
    text = (DEPLOY / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if "projected:" in b]
    found: dict[str, Any] = yaml.safe_load(block)
    return found


def test_the_readmes_configmap_volume_mounts_one_project_per_configmap() -> None:
    """The projected volume deploy/README.md shows is a valid pod volume, mounted where the
    release looks for projects, one `<project>/ct.yaml` from each project's ConfigMap."""
    shown = readme_volume()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "fleet"},
        "spec": {
            "volumes": shown["volumes"],
            "containers": [{"name": "c", "image": "ct", "volumeMounts": shown["volumeMounts"]}],
        },
    }
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    (mount,) = shown["volumeMounts"]
    assert mount["mountPath"] == fleet_folder() and mount["readOnly"] is True
    (volume,) = shown["volumes"]
    sources = volume["projected"]["sources"]
    assert len(sources) >= 2
    for source in sources:
        project = source["configMap"]["name"].removeprefix("ct-project-")
        assert source["configMap"]["items"] == [{"key": "ct.yaml", "path": f"{project}/ct.yaml"}]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = tmp_path_factory.mktemp("fleet")
    for example in EXAMPLES:
        write_project(root / example, example, {"environment": "production"})
    return load_fleet(root, environ={})


@pytest.fixture(scope="module")
def fleet_defs(fleet: Fleet) -> dg.Definitions:
    return build_fleet_definitions(fleet.projects)


def test_a_fleet_shares_one_instance_with_the_releases_limits(fleet: Fleet) -> None:
    """Every project of the fleet is in one Dagster home; the instance the fleet renders there
    gives every pool the chart's one slot, so each project's own pools need no entry."""
    homes = {resolve(project, environ={}).dagster_home for project in fleet.projects}
    assert homes == {resolve(fleet.instance_project(), environ={}).dagster_home}
    config = resolve(fleet.instance_project(), environ={}).instance_config()
    chart_pools = values()["concurrency"]["pools"]
    assert config["concurrency"]["pools"]["default_limit"] == chart_pools["defaultLimit"] == 1
    assert "limits" not in chart_pools  # no pool of one project named (and limited) alone


def test_each_project_promotes_in_a_pool_of_its_own(
    fleet: Fleet, fleet_defs: dg.Definitions
) -> None:
    graph = fleet_defs.resolve_asset_graph()
    names = [p.namespace.prefix for p in fleet.projects]
    promotions = {name: graph.get(Namespace.of(name).key(PRODUCTION_MODEL)).pools for name in names}
    assert promotions == {name: {f"{name}/promotion"} for name in names}
    every_pool = {pool for key in graph.get_all_asset_keys() for pool in graph.get(key).pools or ()}
    assert all(pool.split("/", 1)[0] in names for pool in every_pool), every_pool


def test_every_training_run_of_every_project_is_under_the_charts_training_limit(
    fleet: Fleet, fleet_defs: dg.Definitions
) -> None:
    """The automation sensors that can start a run training a project's candidates tag it with
    the key and value the chart limits, whichever project it is; the others do not."""
    queued = values()["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    (limit,) = [t for t in queued["tagConcurrencyLimits"] if t["key"] == RUN_KIND_TAG]
    graph = fleet_defs.resolve_asset_graph()
    trained = {p.namespace.key(CANDIDATE_MODELS) for p in fleet.projects}
    covered: set[dg.AssetKey] = set()
    for sensor in fleet_defs.sensors or []:
        if not isinstance(sensor, dg.AutomationConditionSensorDefinition):
            continue
        targets = sensor.asset_selection.resolve(graph) & trained
        if targets:
            assert sensor.run_tags.get(RUN_KIND_TAG) == limit["value"], sensor.name
            covered |= targets
        else:
            assert RUN_KIND_TAG not in sensor.run_tags, sensor.name
    assert covered == trained


def test_no_project_has_a_key_or_name_in_another_projects_namespace(
    fleet: Fleet, fleet_defs: dg.Definitions
) -> None:
    names = {p.namespace.prefix for p in fleet.projects}
    graph = fleet_defs.resolve_asset_graph()
    owners = {key: key.path[0] for key in graph.get_all_asset_keys()}
    assert set(owners.values()) == names, sorted(k.to_user_string() for k in owners)
    for project in fleet.projects:
        mine = {k for k, owner in owners.items() if owner == project.namespace.prefix}
        assert all(project.namespace.owns(k) for k in mine)
    named = [
        *(s.name for s in fleet_defs.sensors or []),
        *(s.name for s in fleet_defs.schedules or []),
        *(j.name for j in fleet_defs.jobs or []),
        *(fleet_defs.resources or {}),
    ]
    assert len(named) == len(set(named))
    assert all(name.split("__", 1)[0] in names for name in named), named


def test_the_examples_fleet_is_the_default_and_a_folder_of_projects() -> None:
    """The baked fleet is a folder whose subfolders are projects, as deploy/README.md says."""
    root: Path = REPOSITORY / baked_fleet()
    fleet = load_fleet(root, environ={})
    assert {p.root.parent for p in fleet.projects} == {root}
    assert {p.root.name for p in fleet.projects} == {p.spec.name for p in fleet.projects}
