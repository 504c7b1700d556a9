"""An install made by the release before projects could share a deployment keeps working.

The previous release's code (its git commit, read with `git archive`) lands and trains three
days on a real Dagster home, MLflow store and data folder; this release then reads that install
as it stands (its bare keys, sensors, resources, champion) and carries the next day through the
whole graph, reading the old days' outputs, and `ct status` shows all of it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from ct_assets.definitions import build_definitions
from ct_assets.names import LONE, PRODUCTION_MODEL, RAW_BATCHES
from ct_assets.project.load import load_project
from tests.conftest import REPOSITORY, START, generator, write_project

# The last commit before issue 24 (namespaces, fleets, the component): the release users have.
PREVIOUS_RELEASE = "f5ac053f8d0de59cf75a762075dcb2580dd15b2d"
OLD_DAYS = 3

OLD_RUN = """
import sys
from datetime import date, timedelta
import dagster as dg
from ct_assets.definitions import build_definitions
from ct_assets.project.load import load_project

project = load_project(sys.argv[1])
defs = build_definitions(project)
job = defs.resolve_implicit_global_asset_job_def()
with dg.DagsterInstance.get() as instance:
    for day in range(int(sys.argv[2])):
        key = (date(2026, 1, 1) + timedelta(days=day)).isoformat()
        assert job.execute_in_process(partition_key=key, instance=instance).success, key
"""


def previous_release(into: Path) -> Path:
    """The previous release's source tree, or a skip when this clone lacks its commit."""
    found = subprocess.run(
        ["git", "-C", str(REPOSITORY), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"],
        capture_output=True,
    )
    if found.returncode != 0:
        pytest.skip(f"this clone has no commit {PREVIOUS_RELEASE[:7]} (a shallow clone)")
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", "--format=tar", PREVIOUS_RELEASE],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def test_an_install_of_the_previous_release_keeps_working(tmp_path: Path) -> None:
    old_code = previous_release(tmp_path / "previous")
    project = write_project(tmp_path / "shop", "shop")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(old_code / "dagster.yaml", home / "dagster.yaml")
    project.landing_dir.mkdir(parents=True)
    module = generator("shop")
    source = module.demo_source(START, 600, 100)
    for day in range(OLD_DAYS + 1):
        module.write_atomically(source.day(day), project.landing_dir / source.day_name(day))

    # The previous release, alone on its import path, makes the install.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CT_")}
    env.update(PYTHONPATH=str(old_code), DAGSTER_HOME=str(home))
    made = subprocess.run(
        [sys.executable, "-c", OLD_RUN, str(project.root), str(OLD_DAYS)],
        cwd=old_code,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert made.returncode == 0, made.stderr[-3000:]

    # This release reads it where it is: a lone project, bare keys, its own resources.
    upgraded = load_project(project.root, environ={})
    assert upgraded.namespace == LONE
    defs = build_definitions(upgraded)
    days = [(START + timedelta(days=d)).isoformat() for d in range(OLD_DAYS + 1)]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey(RAW_BATCHES)) == set(days[:-1])
        registry = (defs.resources or {})["mlflow"]
        champion = registry.champion_version()
        assert champion is not None
        # The next day runs through every stage, reading the old days' windows and champion.
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(partition_key=days[-1], instance=instance)
        assert result.success
        assert instance.get_materialized_partitions(dg.AssetKey(PRODUCTION_MODEL)) == set(days)
        decided = instance.get_latest_materialization_event(dg.AssetKey(PRODUCTION_MODEL))
        assert decided is not None and decided.asset_materialization is not None
        assert decided.asset_materialization.partition == days[-1]
        # The champion before the upgrade stays a version of the same registered model.
        assert registry.version_tags(champion)

    status = subprocess.run(
        [sys.executable, "-m", "ct_assets.cli", "status", "--project", str(project.root), "--json"],
        env={**env, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert status.returncode == 0, status.stderr[-2000:]
    shown = json.loads(status.stdout)
    assert {row["partition"] for row in shown["partitions"]} >= set(days)
    assert shown["champion"] is not None
