"""Configurable resources of ct, and the one function that picks a set per environment."""

from resources.alerts import AlertHook
from resources.environments import Environment, build_resources, resolve
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.sources import FileDropSource, HttpApiSource, RedisStreamSource, SqlTableSource
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
