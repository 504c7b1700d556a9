"""Shared fixtures: a real Dagster instance, a real MLflow store and real files per test.

Every test project is a folder with a ct.yaml, made from one of `examples/` (shop: binary, with
an entity; energy: regression, none), so tests load projects the way users do.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml

from ct_assets.definitions import build_definitions
from ct_assets.project.load import PROJECT_FILE, Project, deep_merge, load_project

# Fixtures of the real services (PostgreSQL, Redis, S3 over HTTP, HTTP APIs) on localhost.
pytest_plugins = ["tests.services"]

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "examples"
START = date(2026, 1, 1)
# What tests change in an example: a short window, a fast sensor, partitions from START.
TEST_CHANGES: dict[str, Any] = {
    "partitions": {"start": START.isoformat()},
    "training": {"window": 3},
    "sources": {"poll_interval": "1s"},
    # Tests of the pipeline retrain every partition; the policy tests declare their own.
    "policy": {"retrain": {"triggers": ["every_partition"]}},
}
# Gates that promote any candidate above the floor, so a test can watch one rule alone.
EAGER_GATES: dict[str, Any] = {"gates": {"margin": -1.0, "slices": {"tolerance": 1.0}}}


def write_project(
    root: Path, example: str = "shop", changes: Mapping[str, Any] | None = None
) -> Project:
    """A project folder made from an example's ct.yaml with `changes` laid over it."""
    declared = yaml.safe_load((EXAMPLES / example / PROJECT_FILE).read_text())
    root.mkdir(parents=True, exist_ok=True)
    declared = deep_merge(deep_merge(declared, TEST_CHANGES), changes or {})
    text = yaml.safe_dump(declared, sort_keys=False)
    (root / PROJECT_FILE).write_text(text)
    return load_project(root, environ={})


def generator(example: str) -> Any:
    return importlib.import_module(f"examples.{example}.generator")


@dataclass
class Deployment:
    """One isolated ct deployment on local files: a project, its definitions, an instance."""

    project: Project
    defs: dg.Definitions
    instance: dg.DagsterInstance
    source: Any
    example: str = "shop"

    @property
    def spec(self) -> Any:
        return self.project.spec

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def data_dir(self) -> Path:
        return self.project.data_dir

    @property
    def landing(self) -> Path:
        return self.project.landing_dir

    @property
    def module(self) -> Any:
        return generator(self.example)

    def drop_day(self, index: int, frame: pd.DataFrame | None = None, name: str | None = None):
        frame = self.source.day(index) if frame is None else frame
        path = self.landing / (name or self.source.day_name(index))
        return self.module.write_atomically(frame, path)

    def partition(self, index: int) -> str:
        return (START + timedelta(days=index)).isoformat()

    def materialize(
        self, partition: str, selection: str = "*", **run_config: Any
    ) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            partition_key=partition,
            instance=self.instance,
            asset_selection=list(
                dg.AssetSelection.from_string(selection).resolve(self.defs.resolve_asset_graph())
            ),
            run_config=run_config or None,
            raise_on_error=False,
        )

    def resource(self, key: str) -> Any:
        return (self.defs.resources or {})[key]

    def report(self, asset: str, partition: str, metadata: Mapping[str, Any]) -> None:
        """A materialization of `asset` with `metadata`, as a run would record it (for sensor
        tests that need one asset's evidence without running its upstream)."""
        self.instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=asset, partition=partition, metadata=dict(metadata))
        )

    def another_version(self, partition: str, version: str) -> str:
        """A second registered version for `partition`: a run of the candidates alone, on a
        family other than `version`'s (the same family on the same data would be the same
        candidate, which the registry hands back instead of registering twice)."""
        registry = self.resource("mlflow")
        family = registry.version_tags(version)["ct.family"]
        other = "lightgbm" if family == "sklearn_linear" else "sklearn_linear"
        known = {v["version"] for v in registry.versions()}
        assert self.materialize(
            partition,
            'key:"candidate_models"',
            ops={"candidate_models": {"config": {"families": [other]}}},
        ).success
        (new,) = {v["version"] for v in registry.versions()} - known
        return str(new)

    def reconfigure(self, changes: Mapping[str, Any]) -> None:
        """Other declarations for the same deployment: ct.yaml is rewritten, definitions
        rebuilt from it."""
        current = yaml.safe_load(self.project.file.read_text())
        self.project.file.write_text(yaml.safe_dump(deep_merge(current, changes), sort_keys=False))
        self.project = load_project(self.root, environ={})
        self.defs = build_definitions(self.project)


def deploy(
    tmp_path: Path,
    instance: dg.DagsterInstance,
    example: str = "shop",
    changes: Mapping[str, Any] | None = None,
    rows_per_day: int = 1500,
    drift_day: int = 100,
) -> Deployment:
    project = write_project(tmp_path / f"{example}-project", example, changes)
    project.landing_dir.mkdir(parents=True, exist_ok=True)
    module = generator(example)
    source = module.demo_source(START, rows_per_day, drift_day)
    return Deployment(project, build_definitions(project), instance, source, example)


@pytest.fixture
def dagster_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield instance


@contextmanager
def shipped_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dg.DagsterInstance]:
    """An instance on a DAGSTER_HOME configured as shipped (dagster.yaml: promotion pool of 1),
    so separate processes (the Dagster CLI a test starts) share it and its concurrency slots."""
    from ct_assets.stages.common import initialize_pools

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        initialize_pools(instance)  # as `ct up` does before its daemon starts
        yield instance


@pytest.fixture
def project(tmp_path: Path, dagster_instance: dg.DagsterInstance) -> Deployment:
    """The shop example (binary, with an entity and window features)."""
    return deploy(tmp_path, dagster_instance, "shop")


@pytest.fixture
def energy(tmp_path: Path, dagster_instance: dg.DagsterInstance) -> Deployment:
    """The energy example (regression, no entity, epoch times, booleans)."""
    return deploy(tmp_path, dagster_instance, "energy")
