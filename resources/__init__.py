"""Configurable resources of ct, and the one function that picks a set per environment."""

from resources.alerts import AlertHook
from resources.environments import Environment, build_resources, resolve
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.pulled.http_api import HttpApiSource
from resources.pulled.redis_stream import RedisStreamSource
from resources.pulled.sql_table import SqlTableSource
from resources.sources import FileDropSource
from resources.storage import BatchStore

__all__ = [
    "AlertHook",
    "BatchStore",
    "Environment",
    "FileDropSource",
    "HttpApiSource",
    "JsonIOManager",
    "MlflowRegistry",
    "ParquetIOManager",
    "RedisStreamSource",
    "SqlTableSource",
    "build_resources",
    "resolve",
]
