"""Ingest + validate + write of a 1M-row Parquet drop, and drift of 50k vs 50k rows.

Prints figures; asserts nothing. Run: `uv run python bench/ingest_validate.py [--rows N]`.
Goals (issue 3): ingest+validate+write >= 1M rows/s on 2 cores; drift within 1.1x of calling
Evidently directly.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ct_assets.ml.datagen import DriftingSource
from ct_assets.ingest.parsing import check_file
from resources.sources import FileDropSource
from resources.storage import BatchStore


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_drop(rows: int, folder: Path) -> Path:
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=100_000)
    days = [source.day(i % 7) for i in range(-(-rows // 100_000))]
    frame = pd.concat(days, ignore_index=True).head(rows)
    frame["event_id"] = [f"e{i:09d}" for i in range(len(frame))]
    path = folder / "drop_2026-01-01.parquet"
    frame.to_parquet(path, index=False)
    return path


def bench_ingest(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = make_drop(rows, folder)
        size_mib = path.stat().st_size / 2**20
        store = BatchStore(base_dir=str(folder / "data"))
        # A run worker validates batch after batch; pandera builds its schema once per process.
        warm = folder / "warm" / "warm_2026-01-01.parquet"
        warm.parent.mkdir()
        pd.read_parquet(path).head(100).to_parquet(warm, index=False)
        mark = time.perf_counter()
        check_file(warm)
        first_call = time.perf_counter() - mark
        timings: dict[str, float] = {}
        start = time.perf_counter()
        drop = FileDropSource(url=str(folder))
        delivery = drop.delivery(drop.files()[0])
        manifest, _ = store.ingest(delivery, ["2026-01-01"])
        timings["hash + copy into raw"] = time.perf_counter() - start
        mark = time.perf_counter()
        outcome = check_file(Path(manifest["raw_path"]))
        timings["parse + validate"] = time.perf_counter() - mark
        assert outcome.frame is not None, outcome.reason()
        mark = time.perf_counter()
        out = folder / "validated.parquet"
        outcome.frame.to_parquet(out, index=False)
        timings["write validated parquet"] = time.perf_counter() - mark
        total = time.perf_counter() - start
    print(f"ingest + validate + write, {rows:,} rows ({size_mib:.0f} MiB):")
    for name, seconds in timings.items():
        print(f"  {name:<26} {seconds:7.2f} s  {rows / seconds:>12,.0f} rows/s")
    print(f"  {'total':<26} {total:7.2f} s  {rows / total:>12,.0f} rows/s")
    print(f"  peak RSS {peak_rss_mib():,.0f} MiB")
    print(
        f"  (once per process, not above: first validation builds the schema, {first_call:.2f} s)"
    )


def bench_drift(rows: int = 50_000, columns: int = 20) -> None:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from ct_assets.ml import drift

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(columns)]
    reference = pd.DataFrame(rng.normal(size=(rows, columns)), columns=names)
    current = pd.DataFrame(rng.normal(0.05, size=(rows, columns)), columns=names)
    start = time.perf_counter()
    Report([DataDriftPreset()]).run(current, reference)
    direct = time.perf_counter() - start
    # ct's path: the same preset through ct's wrapper, on numeric-only features.
    numeric, categorical = drift.ROW_FEATURES, drift.CATEGORICAL_FEATURES
    drift.ROW_FEATURES, drift.CATEGORICAL_FEATURES = tuple(names), ()
    try:
        start = time.perf_counter()
        result, _ = drift.measure_drift(reference, current, ["reference"])
        ours = time.perf_counter() - start
    finally:
        drift.ROW_FEATURES, drift.CATEGORICAL_FEATURES = numeric, categorical
    print(f"drift, {rows:,} vs {rows:,} rows x {columns} columns:")
    print(f"  Evidently directly {direct:6.2f} s")
    print(f"  ct measure_drift   {ours:6.2f} s  ({ours / direct:.2f}x), share {result.drift_share}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_ingest(args.rows)
    bench_drift()
