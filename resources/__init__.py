"""Configurable resources of ct, and the one function that picks a set per environment."""

from resources.environments import build_resources
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.sources import FileDropSource
from resources.storage import BatchStore

__all__ = [
    "BatchStore",
    "FileDropSource",
    "JsonIOManager",
    "MlflowRegistry",
    "ParquetIOManager",
    "build_resources",
]
