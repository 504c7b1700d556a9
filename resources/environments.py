"""Resource sets per environment: the local default needs no configuration at all."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from ct_assets.project.load import Project
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


def pulled_sources(project: Project) -> dict[str, dg.ConfigurableResource]:
    """The pulled sources declared in ct.yaml; endpoints and secrets stay environment variables
    (ct.yaml names the variable, never the value)."""
    sources, spec = project.spec.sources, project.spec
    built: dict[str, dg.ConfigurableResource] = {}
    if sources.sql is not None:
        sql = sources.sql
        key = sql.key_column or spec.dataset.event_id
        assert key is not None  # the project refuses a SQL source with no key
        built["sql_table"] = SqlTableSource(
            url=dg.EnvVar(sql.url_env),
            table=sql.table,
            watermark_column=sql.watermark_column,
            key_column=key,
            columns=sql.columns,
            batch_rows=sql.batch_rows,
        )
    if sources.redis_stream is not None:
        stream = sources.redis_stream
        built["redis_stream"] = RedisStreamSource(
            url=dg.EnvVar(stream.url_env),
            stream=stream.stream,
            group=stream.group,
            consumer=stream.consumer,
        )
    if sources.http_api is not None:
        api = sources.http_api
        token = _optional(api.token_env, os.environ) if api.token_env else None
        built["http_api"] = HttpApiSource(url=dg.EnvVar(api.url_env), token=token)
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


def online_store(project: Project, environment: str) -> OnlineStore:
    """Redis when CT_ONLINE_STORE_URL is set (always in production); else a local SQLite file."""
    if environment == "production" or os.environ.get("CT_ONLINE_STORE_URL"):
        return RedisOnlineStore(
            url=dg.EnvVar("CT_ONLINE_STORE_URL"),
            prefix=os.environ.get("CT_ONLINE_STORE_PREFIX", "ct:features:"),
        )
    return SqliteOnlineStore(path=str(project.data_dir / "online_features.sqlite"))


def build_resources(project: Project) -> dict[str, Any]:
    """`local`: files under the project's `.ct/` and a SQLite MLflow store.
    `production`: every location and endpoint from environment variables."""
    environment = project.spec.environment
    endpoint = _optional(project.spec.sources.s3_endpoint_env, os.environ)
    common = {
        **pulled_sources(project),
        "online_store": online_store(project, environment),
        "alerts": AlertHook(webhook_url=_optional("CT_ALERT_WEBHOOK_URL", os.environ)),
    }
    if environment == "local":
        data: Any = str(project.data_dir)
        registry = MlflowRegistry(
            tracking_uri=f"sqlite:///{project.mlflow_dir / 'mlflow.db'}",
            artifact_root=str(project.mlflow_dir / "artifacts"),
            registered_model=project.spec.model_name,
        )
    elif environment == "production":
        data = dg.EnvVar("CT_DATA_DIR")
        registry = MlflowRegistry(
            tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"),
            artifact_root=dg.EnvVar("CT_MLFLOW_ARTIFACT_ROOT"),
            registered_model=project.spec.model_name,
        )
    else:
        raise ValueError(f"CT_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
    return {
        **common,
        **offline_store(data),
        "batch_store": BatchStore(base_dir=data),
        "file_drop": FileDropSource(
            url=project.landing,
            endpoint_url=endpoint,
            skip_folders=[project.spec.serving.labels_folder],
        ),
        "mlflow": registry,
        "serving_probes": ServingProbes(mlflow=registry),
    }
