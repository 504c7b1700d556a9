"""Ingest + validate + write of a 1M-row Parquet drop, and drift of 50k vs 50k rows.

Prints figures; asserts nothing. Run: `uv run python bench/ingest_validate.py [--rows N]
[--example shop|energy|both] [--dialect parquet|csv|european]` (european: `;`-delimited, decimal
commas, cp1252, as `dataset.format` declares it).
Goals (issue 3): ingest+validate+write >= 1M rows/s on 2 cores, with a declared schema, for both
examples; drift within 1.1x of calling Evidently directly.

Each example runs on a project made from its `examples/<example>/ct.yaml`, on rows its own
generator writes, kept as a producer delivers them (shop: ISO event times as text; energy: epoch
seconds, `is_holiday` as text true/false), in a process of its own so that its peak RSS and its
once-per-process costs are its own.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd
from common import example_project, peak_rss_mib

from ct_assets.ingest.parsing import check_file
from ct_assets.ml.drift import measure_drift, monitored
from ct_assets.ml.features import row_features, with_row_ids
from ct_assets.project.load import PROJECT_FILE, Project
from resources.sources import FileDropSource
from resources.storage import BatchStore

START = date(2026, 1, 1)
ROWS_PER_DAY = 100_000
# The drift bench compares a day before each generator's shift with one after it.
REFERENCE_DAY, CURRENT_DAY = 0, 5


def example_source(example: str) -> Any:
    module = importlib.import_module(f"examples.{example}.generator")
    return module.demo_source(START, ROWS_PER_DAY)


# How the drop is written: Parquet as the generator writes it, or delimited text in a dialect
# (`dataset.format`) that the project declares.
DIALECTS: dict[str, dict[str, str]] = {
    "parquet": {},
    "csv": {},
    "european": {"delimiter": ";", "decimal": ",", "encoding": "cp1252"},
}


def make_drop(source: Any, rows: int, landing: Path, dialect: str) -> tuple[Path, list[str]]:
    """`rows` rows of consecutive days, as the generator writes them, in one file."""
    days = -(-rows // ROWS_PER_DAY)
    frame = pd.concat([source.day(i) for i in range(days)], ignore_index=True).head(rows)
    landing.mkdir(parents=True)
    if dialect == "parquet":
        path = landing / f"drop_{START.isoformat()}.parquet"
        frame.to_parquet(path, index=False)
    else:
        path = landing / f"drop_{START.isoformat()}.csv"
        fmt = DIALECTS[dialect]
        text = frame.to_csv(
            index=False, sep=fmt.get("delimiter", ","), decimal=fmt.get("decimal", ".")
        )
        path.write_bytes(text.encode(fmt.get("encoding", "utf-8")))
    return path, [(START + timedelta(days=i)).isoformat() for i in range(days)]


def bench_ingest(project: Project, source: Any, rows: int, dialect: str) -> None:
    spec = project.spec
    path, partitions = make_drop(source, rows, project.landing_dir, dialect)
    size_mib = path.stat().st_size / 2**20
    store = BatchStore(base_dir=str(project.data_dir))
    # A run worker validates batch after batch; pandera builds its schema once per process.
    warm = project.root / "warm" / f"warm_{START.isoformat()}{path.suffix}"
    warm.parent.mkdir()
    if dialect == "parquet":
        pd.read_parquet(path).head(100).to_parquet(warm, index=False)
    else:
        with path.open("rb") as lines:
            warm.write_bytes(b"".join(islice(lines, 101)))
    mark = time.perf_counter()
    check_file(warm, spec)
    first_call = time.perf_counter() - mark
    timings: dict[str, float] = {}
    start = time.perf_counter()
    drop = FileDropSource(url=project.landing)
    delivery = drop.delivery(drop.files()[0])
    manifest, _ = store.ingest(delivery, partitions)
    timings["hash + copy into raw"] = time.perf_counter() - start
    mark = time.perf_counter()
    outcome = check_file(Path(manifest["raw_path"]), spec, manifest["file_name"])
    timings["parse + validate"] = time.perf_counter() - mark
    assert outcome.frame is not None, outcome.reason()
    mark = time.perf_counter()
    # What validated_batches writes: the typed rows with their batch and row ids.
    events = with_row_ids(outcome.frame, manifest["batch_id"], spec)
    timings["batch + row ids"] = time.perf_counter() - mark
    mark = time.perf_counter()
    events.to_parquet(project.data_dir / "validated.parquet", index=False)
    timings["write validated parquet"] = time.perf_counter() - mark
    total = time.perf_counter() - start
    ids = "declared event id" if spec.dataset.event_id else "derived <batch id>:<row> ids"
    print(
        f"ingest + validate + write, {rows:,} rows ({size_mib:.0f} MiB {dialect}), "
        f"{len(spec.dataset.columns)} declared columns, {ids}:"
    )
    for name, seconds in timings.items():
        print(f"  {name:<26} {seconds:7.2f} s  {rows / seconds:>12,.0f} rows/s")
    print(f"  {'total':<26} {total:7.2f} s  {rows / total:>12,.0f} rows/s  (goal >= 1M rows/s)")
    print(f"  peak RSS {peak_rss_mib():,.0f} MiB")
    print(
        f"  (once per process, not above: first validation builds the schema, {first_call:.2f} s)"
    )


def drift_frames(project: Project, source: Any, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The monitored features of `rows` validated rows of a day before the shift and one after."""
    spec = project.spec
    frames = []
    for day in (REFERENCE_DAY, CURRENT_DAY):
        path = project.root / "drift" / source.day_name(day, "parquet")
        path.parent.mkdir(exist_ok=True)
        source.day(day).head(rows).to_parquet(path, index=False)
        outcome = check_file(path, spec)
        assert outcome.frame is not None, outcome.reason()
        frames.append(pd.DataFrame(row_features(outcome.frame, spec)))
    return frames[0], frames[1]


def evidently_directly(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> Any:
    """What a user writes with Evidently alone: the preset over the same typed columns."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = [*numeric, *categorical]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    return Report([DataDriftPreset(columns=columns)]).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )


def bench_drift(project: Project, source: Any, rows: int) -> None:
    # Evidently's correlations divide by a column's spread; a feature constant over a day (the
    # energy example's holiday flag) makes NumPy warn on both sides alike, and drowns the figures.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="numpy")
    numeric, categorical = monitored(project.spec)
    reference, current = drift_frames(project, source, rows)
    # Evidently's first report pays for lazy imports and caches; neither side is charged it.
    evidently_directly(reference.head(1000), current.head(1000), numeric, categorical)
    start = time.perf_counter()
    evidently_directly(reference, current, numeric, categorical)
    direct = time.perf_counter() - start
    start = time.perf_counter()
    result, _ = measure_drift(
        reference, current, ["reference"], numeric, categorical, project.spec.drift
    )
    ours = time.perf_counter() - start
    print(
        f"drift, {len(reference):,} vs {len(current):,} rows (day {REFERENCE_DAY} vs day "
        f"{CURRENT_DAY}, after the generator's shift), {len(numeric)} numeric + "
        f"{len(categorical)} categorical monitored features:"
    )
    print(f"  Evidently directly {direct:6.2f} s")
    print(
        f"  ct measure_drift   {ours:6.2f} s  ({ours / direct:.2f}x, goal <= 1.1x), "
        f"share {result.drift_share:.2f}, drifted: {', '.join(result.drifted_features) or 'none'}"
    )


def run_example(example: str, rows: int, drift_rows: int, dialect: str = "parquet") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        changes: dict[str, Any] = {"partitions": {"start": START.isoformat()}}
        if DIALECTS[dialect]:
            changes["dataset"] = {"format": DIALECTS[dialect]}
        project = example_project(example, Path(tmp) / example, changes)
        source = example_source(example)
        task = project.spec.task.type
        print(f"== {example} ({task}; project {PROJECT_FILE} from examples/{example}) ==")
        bench_ingest(project, source, rows, dialect)
        if dialect == "parquet":
            bench_drift(project, source, drift_rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--drift-rows", type=int, default=50_000)
    parser.add_argument("--example", choices=["shop", "energy", "both"], default="both")
    parser.add_argument("--dialect", choices=list(DIALECTS), default="parquet")
    args = parser.parse_args()
    if args.example != "both":
        run_example(args.example, args.rows, args.drift_rows, args.dialect)
        return
    for example in ("shop", "energy"):
        # A process per example: peak RSS and the once-per-process costs are each its own.
        command = [sys.executable, __file__, "--example", example, "--rows", str(args.rows)]
        command += ["--dialect", args.dialect]
        subprocess.run([*command, "--drift-rows", str(args.drift_rows)], check=True)


if __name__ == "__main__":
    main()
