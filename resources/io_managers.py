"""Where asset outputs live: one file per partition, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd
from upath import UPath


def _atomic_write(path: UPath, write: Callable[[UPath], object]) -> None:
    """Write to a sibling temporary name, then rename: readers never see half a partition."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(str(tmp), str(path))


class _ParquetPaths(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame")
        _atomic_write(path, lambda tmp: obj.to_parquet(str(tmp), index=False))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return pd.read_parquet(str(path))


class _JsonPaths(dg.UPathIOManager):
    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        text = json.dumps(obj, indent=2, sort_keys=True, default=str)
        _atomic_write(path, lambda tmp: tmp.write_text(text))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        return json.loads(path.read_text())


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Data frames as Parquet under `base_dir/<asset>/<partition>.parquet`."""

    base_dir: str

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.UPathIOManager:
        return _ParquetPaths(base_path=UPath(self.base_dir))


class JsonIOManager(dg.ConfigurableIOManagerFactory):
    """Small records (model references, decisions) as JSON beside the data."""

    base_dir: str

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.UPathIOManager:
        return _JsonPaths(base_path=UPath(self.base_dir))
