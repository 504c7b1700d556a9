"""Helpers shared by several test files, unit and integration:
the ones tests/test_init.py held."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.cli import main

N = 240


DAYS = 10


def event_times(n: int = N, seed: int = 0) -> pd.DatetimeIndex:
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, DAYS * 86_400, n))
    return pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")


def iso(times: pd.DatetimeIndex) -> list[str]:
    return list(times.strftime("%Y-%m-%dT%H:%M:%SZ"))


def base(n: int = N, seed: int = 0, **columns: Any) -> pd.DataFrame:
    """An event time, a 0/1 label with both classes, and the given columns."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.3).astype(int)
    label[:2] = [0, 1]
    return pd.DataFrame({"event_time": iso(event_times(n, seed)), **columns, "label": label})


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "sample.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif name.endswith(".jsonl"):
        path.write_text(frame.to_json(orient="records", lines=True), encoding="utf-8")
    elif name.endswith(".csv.gz"):
        path.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    else:
        frame.to_csv(path, index=False)
    return path


def init(path: Path, out: Path, *flags: str) -> int:
    return main(["init", "--from", str(path), "--out", str(out), *flags])


def comments(out: Path) -> str:
    """The comments of the written ct.yaml as one text (lines wrap anywhere)."""
    lines = (out / "ct.yaml").read_text(encoding="utf-8").splitlines()
    return " ".join(line.split("# ", 1)[1] for line in lines if "# " in line)
