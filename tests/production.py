"""A ct project in the production environment on services on localhost: Dagster storage in
PostgreSQL, every artifact on S3 (moto's server over HTTP), MLflow as a server process on
PostgreSQL and S3, Redis as the online store. Shared by the production tests and benches."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.definitions import build_definitions
from ct_assets.project.load import Project
from resources.environments import Environment, resolve
from tests.conftest import START, Deployment, generator, write_project

REDIS_URL = "redis://127.0.0.1:6379/0"
BUCKET = "ct-data"


def production_environ(
    postgres_url: str, s3_url: str, tracking_uri: str, bucket: str = BUCKET
) -> dict[str, str]:
    """The variables a production deployment of ct reads (deploy/README.md), for localhost."""
    return {
        "CT_ENV": "production",
        "CT_DAGSTER_POSTGRES_URL": postgres_url.replace("postgresql://", "postgresql+psycopg2://"),
        "CT_DATA_URL": f"s3://{bucket}/data",
        "CT_S3_ENDPOINT_URL": s3_url,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "CT_ONLINE_STORE_URL": REDIS_URL,
        # Each test its own keys in the shared Redis.
        "CT_ONLINE_STORE_PREFIX": f"ct:test:{uuid.uuid4().hex[:8]}:",
    }


def production_project(
    root: Path, example: str = "shop", changes: Mapping[str, Any] | None = None
) -> Project:
    """An example project declared for production, landing on S3."""
    declared = {"environment": "production", "sources": {"landing": f"s3://{BUCKET}/landing"}}
    return write_project(root, example, {**declared, **(changes or {})})


@dataclass
class Production:
    """A production deployment: its environment, instance (PostgreSQL) and definitions."""

    deployment: Deployment
    environment: Environment

    @property
    def instance(self) -> dg.DagsterInstance:
        return self.deployment.instance

    def drop_day(self, index: int, frame: pd.DataFrame | None = None) -> str:
        """A day's file put on the S3 landing prefix, as a producer would."""
        source = self.deployment.source
        frame = source.day(index) if frame is None else frame
        url = f"{self.deployment.project.landing}/{source.day_name(index)}"
        fs = self.environment.data_root().fs  # type: ignore[union-attr]
        fs.pipe_file(url, frame.to_csv(index=False).encode())
        return url


def deploy_production(
    root: Path,
    environ: Mapping[str, str],
    example: str = "shop",
    changes: Mapping[str, Any] | None = None,
    rows_per_day: int = 1500,
) -> Production:
    """The project's production instance prepared (rendered dagster.yaml on PostgreSQL) and its
    definitions built, with `environ` already in the process environment."""
    project = production_project(root / f"{example}-project", example, changes)
    environment = resolve(project, environ).require()
    environment.prepare_instance()
    instance = environment.instance()
    source = generator(example).demo_source(START, rows_per_day, 100)
    deployment = Deployment(project, build_definitions(project), instance, source, example)
    return Production(deployment, environment)
