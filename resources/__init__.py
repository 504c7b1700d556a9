"""Configurable resources of ct, and the one function that picks a set per environment."""

from resources.alerts import AlertHook
from resources.environments import build_resources
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.sources import FileDropSource, HttpApiSource, RedisStreamSource, SqlTableSource
from resources.storage import BatchStore

__all__ = [
    "AlertHook",
    "BatchStore",
    "FileDropSource",
    "HttpApiSource",
    "JsonIOManager",
    "MlflowRegistry",
    "ParquetIOManager",
    "RedisStreamSource",
    "SqlTableSource",
    "build_resources",
]
