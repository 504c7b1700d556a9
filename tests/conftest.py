"""Shared fixtures: a real Dagster instance, a real MLflow store and real files per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ct_assets.definitions import build_definitions
from ct_assets.ml.datagen import DriftingSource, write_atomically
from ct_assets.ml.gates import GatePolicy
from ct_assets.settings import PipelineSettings

# Fixtures of the real services (PostgreSQL, Redis, S3 over HTTP, HTTP APIs) on localhost.
pytest_plugins = ["tests.services"]

START = date(2026, 1, 1)


@dataclass
class Project:
    """One isolated ct deployment on local files: settings, definitions, a Dagster instance."""

    settings: PipelineSettings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    source: DriftingSource

    @property
    def landing(self) -> Path:
        return self.settings.landing_dir

    def drop_day(self, index: int, frame=None, name: str | None = None) -> Path:
        frame = self.source.day(index) if frame is None else frame
        return write_atomically(frame, self.landing / (name or self.source.day_name(index)))

    def partition(self, index: int) -> str:
        return (self.source.start.fromordinal(self.source.start.toordinal() + index)).isoformat()

    def materialize(
        self, partition: str, selection: str = "*", **run_config
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

    def resource(self, key: str):
        return self.defs.resources[key]

    def reconfigure(self, **changes) -> None:
        """Other settings for the same deployment: the definitions are rebuilt from them."""
        self.settings = replace(self.settings, **changes)
        self.defs = build_definitions(self.settings)


# Gates that promote any candidate above the floor, so a test can watch one rule alone.
EAGER_GATES = GatePolicy(margin=-1.0, slice_tolerance=1.0)


@pytest.fixture
def settings(tmp_path: Path) -> PipelineSettings:
    return replace(
        PipelineSettings(),
        home=tmp_path / "ct",
        partition_start=START.isoformat(),
        training_window=3,
        sensor_interval_seconds=1,
    )


@pytest.fixture
def project(settings: PipelineSettings, tmp_path: Path) -> Iterator[Project]:
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield Project(
            settings=settings,
            defs=build_definitions(settings),
            instance=instance,
            source=DriftingSource(start=START, rows_per_day=1500, drift_day=100),
        )
