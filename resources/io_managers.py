"""Where asset outputs live: one file per partition, written atomically.

`base_dir` is a local folder or an object-store URL (`s3://bucket/prefix`, through fsspec). A
local file is written to a hidden name and renamed; an object is written with one PUT, which
object stores make visible whole or not at all.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import BaseModel
from upath import UPath

from ct_assets.crash import crash_point
from ct_assets.ingest.files import data_root, read_bytes, write_whole


def base_path(base_dir: str, endpoint_url: str | None) -> UPath:
    root = data_root(base_dir, endpoint_url)
    return root if isinstance(root, UPath) else UPath(root)


class _Paths(dg.UPathIOManager):
    def make_directory(self, path: UPath) -> None:
        """Nothing to make: a local write makes its folder itself, and an object store has none
        (asking it for one costs a request per output)."""


class _ParquetPaths(_Paths):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame")
        # `<asset>.parquet.tmp`: killed after the hidden file is written, before it is renamed.
        point = f"{context.asset_key.path[-1]}.parquet"
        write_whole(path, lambda target: obj.to_parquet(target, index=False), point=point)
        # Killed here, the file is published but Dagster has not recorded it: the rerun writes
        # the same content again, and the partition is recorded once.
        crash_point(f"{point}.written")

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(read_bytes(path)))


class _JsonPaths(_Paths):
    """JSON records; a pydantic model (a typed contract between stages) is validated on load
    against the type the reading asset declares, so a mismatch fails where it is read."""

    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        plain = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
        data = json.dumps(plain, indent=2, sort_keys=True, default=str).encode()
        write_whole(path, lambda target: _write_bytes(target, data))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        loaded = json.loads(read_bytes(path, small=True))
        wanted = context.dagster_type.typing_type
        if isinstance(wanted, type) and issubclass(wanted, BaseModel):
            return wanted.model_validate(loaded)
        return loaded


def _write_bytes(target: Any, data: bytes) -> None:
    if isinstance(target, Path):
        target.write_bytes(data)
    else:
        target.write(data)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Data frames as Parquet under `base_dir/<asset>/<partition>.parquet`."""

    base_dir: str
    endpoint_url: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.UPathIOManager:
        return _ParquetPaths(base_path=base_path(self.base_dir, self.endpoint_url))


class JsonIOManager(dg.ConfigurableIOManagerFactory):
    """Small records (model references, decisions) as JSON beside the data."""

    base_dir: str
    endpoint_url: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.UPathIOManager:
        return _JsonPaths(base_path=base_path(self.base_dir, self.endpoint_url))
