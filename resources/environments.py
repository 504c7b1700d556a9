"""Resource sets per environment: the local default needs no configuration at all."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg

from ct_assets.settings import PipelineSettings
from resources.alerts import AlertHook
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.online_store import OnlineStore, RedisOnlineStore, SqliteOnlineStore
from resources.serving_probe import ServingProbes
from resources.sources import FileDropSource, HttpApiSource, RedisStreamSource, SqlTableSource
from resources.storage import BatchStore

ENVIRONMENTS = ("local", "production")


def _optional(name: str, environ: Mapping[str, str]) -> Any:
    """An endpoint or secret that may be absent: an EnvVar when set, else None."""
    return dg.EnvVar(name) if environ.get(name) else None


def pulled_sources(
    names: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The pulled sources named in CT_SOURCES; endpoints and secrets stay environment variables."""
    env = os.environ if environ is None else environ
    built: dict[str, dg.ConfigurableResource] = {}
    if "sql_table" in names:
        columns = env.get("CT_SQL_COLUMNS")
        built["sql_table"] = SqlTableSource(
            url=dg.EnvVar("CT_SQL_URL"),
            table=env.get("CT_SQL_TABLE", "events"),
            watermark_column=env.get("CT_SQL_WATERMARK_COLUMN", "ingested_at"),
            key_column=env.get("CT_SQL_KEY_COLUMN", "event_id"),
            columns=[c.strip() for c in columns.split(",")] if columns else None,
        )
    if "redis_stream" in names:
        built["redis_stream"] = RedisStreamSource(
            url=dg.EnvVar("CT_REDIS_URL"),
            stream=env.get("CT_REDIS_STREAM", "ct:events"),
            group=env.get("CT_REDIS_GROUP", "ct"),
            consumer=env.get("CT_REDIS_CONSUMER", "ct-ingest"),
        )
    if "http_api" in names:
        built["http_api"] = HttpApiSource(
            url=dg.EnvVar("CT_HTTP_URL"), token=_optional("CT_HTTP_TOKEN", env)
        )
    return built


def offline_store(data: Any) -> dict[str, dg.ConfigurableIOManagerFactory]:
    """Asset outputs (the offline feature store among them) beside the raw data, or on object
    storage when CT_OFFLINE_URL names it (e.g. s3://bucket/ct)."""
    where = dg.EnvVar("CT_OFFLINE_URL") if os.environ.get("CT_OFFLINE_URL") else data
    endpoint = _optional("CT_S3_ENDPOINT_URL", os.environ)
    return {
        "io_manager": ParquetIOManager(base_dir=where, endpoint_url=endpoint),
        "json_io_manager": JsonIOManager(base_dir=where, endpoint_url=endpoint),
    }


def online_store(settings: PipelineSettings, environment: str) -> OnlineStore:
    """Redis when CT_ONLINE_STORE_URL is set (always in production); else a local SQLite file."""
    if environment == "production" or os.environ.get("CT_ONLINE_STORE_URL"):
        return RedisOnlineStore(
            url=dg.EnvVar("CT_ONLINE_STORE_URL"),
            prefix=os.environ.get("CT_ONLINE_STORE_PREFIX", "ct:features:"),
        )
    return SqliteOnlineStore(path=str(settings.data_dir / "online_features.sqlite"))


@contextmanager
def resolved_resources(defs: dg.Definitions, *keys: str) -> Iterator[Any]:
    """Resources of `defs` outside a run (CLI commands), with their EnvVars resolved as a run
    would resolve them."""
    with dg.build_resources({k: (defs.resources or {})[k] for k in keys}) as resources:
        yield resources


def build_resources(settings: PipelineSettings, environment: str = "local") -> dict[str, Any]:
    """`local`: files under the project's `.ct/` and a SQLite MLflow store.
    `production`: every location and endpoint from environment variables."""
    common = {
        **pulled_sources(settings.pulled_sources),
        "online_store": online_store(settings, environment),
        "alerts": AlertHook(webhook_url=_optional("CT_ALERT_WEBHOOK_URL", os.environ)),
    }
    if environment == "local":
        data = str(settings.data_dir)
        registry = MlflowRegistry(
            tracking_uri=f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}",
            artifact_root=str(settings.mlflow_dir / "artifacts"),
            registered_model=settings.registered_model,
        )
        return {
            **common,
            **offline_store(data),
            "batch_store": BatchStore(base_dir=data),
            "file_drop": FileDropSource(
                url=settings.landing,
                endpoint_url=_optional("CT_S3_ENDPOINT_URL", os.environ),
            ),
            "mlflow": registry,
            "serving_probes": ServingProbes(mlflow=registry),
        }
    if environment == "production":
        data = dg.EnvVar("CT_DATA_DIR")
        registry = MlflowRegistry(
            tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"),
            artifact_root=dg.EnvVar("CT_MLFLOW_ARTIFACT_ROOT"),
            registered_model=settings.registered_model,
        )
        return {
            **common,
            **offline_store(data),
            "batch_store": BatchStore(base_dir=data),
            "file_drop": FileDropSource(
                url=dg.EnvVar("CT_LANDING_URL"),
                endpoint_url=_optional("CT_S3_ENDPOINT_URL", os.environ),
            ),
            "mlflow": registry,
            "serving_probes": ServingProbes(mlflow=registry),
        }
    raise ValueError(f"CT_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
