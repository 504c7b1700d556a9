"""Sources new data arrives from."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ct_assets.ml.landing import LandedFile, list_landing


class FileDropSource(dg.ConfigurableResource):
    """A landing folder producers drop CSV or Parquet files into (write, then rename)."""

    landing_dir: str

    def files(self) -> list[LandedFile]:
        return list_landing(Path(self.landing_dir))
