"""Where asset outputs live: one file per partition, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from upath import UPath

from ct_assets.ml.files import atomic_write


def local(path: UPath) -> Path:
    # The rename that makes a write atomic is a local-filesystem operation.
    return Path(str(path))


class _ParquetPaths(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame")
        atomic_write(local(path), lambda tmp: obj.to_parquet(tmp, index=False))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return pd.read_parquet(str(path))


class _JsonPaths(dg.UPathIOManager):
    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        text = json.dumps(obj, indent=2, sort_keys=True, default=str)
        atomic_write(local(path), lambda tmp: tmp.write_text(text))

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
