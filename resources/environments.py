"""Resource sets per environment: the local default needs no configuration at all."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ct_assets.settings import PipelineSettings
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.sources import FileDropSource
from resources.storage import BatchStore

ENVIRONMENTS = ("local", "production")


def build_resources(settings: PipelineSettings, environment: str = "local") -> dict[str, Any]:
    """`local`: files under the project's `.ct/` and a SQLite MLflow store.
    `production`: every location and endpoint from environment variables."""
    if environment == "local":
        data = str(settings.data_dir)
        return {
            "io_manager": ParquetIOManager(base_dir=data),
            "json_io_manager": JsonIOManager(base_dir=data),
            "batch_store": BatchStore(base_dir=data),
            "file_drop": FileDropSource(landing_dir=str(settings.landing_dir)),
            "mlflow": MlflowRegistry(
                tracking_uri=f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}",
                artifact_root=str(settings.mlflow_dir / "artifacts"),
                registered_model=settings.registered_model,
            ),
        }
    if environment == "production":
        data = dg.EnvVar("CT_DATA_DIR")
        return {
            "io_manager": ParquetIOManager(base_dir=data),
            "json_io_manager": JsonIOManager(base_dir=data),
            "batch_store": BatchStore(base_dir=data),
            "file_drop": FileDropSource(landing_dir=dg.EnvVar("CT_LANDING_DIR")),
            "mlflow": MlflowRegistry(
                tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"),
                artifact_root=dg.EnvVar("CT_MLFLOW_ARTIFACT_ROOT"),
                registered_model=settings.registered_model,
            ),
        }
    raise ValueError(f"CT_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
