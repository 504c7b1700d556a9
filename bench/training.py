"""The training step against a bare pandas + LightGBM script, and refresh against full retrain.

Prints figures; asserts nothing. Run: `uv run python bench/training.py [--rows N]`.
Goals (issue 5), same data and same model:
- the platform's training step (the `candidate_models` asset materialized through Dagster:
  Parquet in, feature selection, LightGBM, MLflow run, model logged with signature and input
  example, registered version with tags) within 1.5x of a bare script that reads the same
  Parquet, trains the same LightGBM and saves it, on N training rows (default 1M);
- an incremental refresh (the champion continued on one new day) within 0.2x of the full
  retrain on the window.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import lightgbm as lgb
import pandas as pd

from ct_assets.candidates import CANDIDATE_MODELS
from ct_assets.definitions import build_definitions
from ct_assets.ml.datagen import DriftingSource
from ct_assets.ml.features import CATEGORICAL_FEATURES, FEATURE_COLUMNS, build_features
from ct_assets.ml.incremental import Base, plan_refresh, refresh
from ct_assets.ml.schema import LABEL
from ct_assets.ml.training import LIGHTGBM_PARAMS, LIGHTGBM_ROUNDS, train_lightgbm
from ct_assets.ml.windows import PARTITION, SPLIT, TRAIN, assemble_window
from ct_assets.settings import PipelineSettings

DAYS = 8
HOLDOUT = 0.2
START = date(2026, 1, 1)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def window_of(train_rows: int) -> pd.DataFrame:
    """DAYS days of features whose time-based cut leaves `train_rows` training rows."""
    per_day = int(train_rows / (1 - HOLDOUT) / DAYS)
    source = DriftingSource(start=START, rows_per_day=per_day, entities=50_000, drift_day=100)
    events = pd.concat(
        [source.day(i).assign(batch_id=f"b-{i}") for i in range(DAYS)], ignore_index=True
    )
    events["event_time"] = pd.to_datetime(events["event_time"], utc=True)
    features = build_features(events)
    features[PARTITION] = features["event_time"].dt.strftime("%Y-%m-%d")
    parts = {k: g.drop(columns=PARTITION) for k, g in features.groupby(PARTITION)}
    return assemble_window(parts, HOLDOUT)


def platform_step(window: pd.DataFrame, home: Path) -> tuple[float, float]:
    """Whole run and the asset step alone, materialized on a real instance and MLflow store."""
    settings = replace(
        PipelineSettings(), home=home, partition_start=START.isoformat(), training_window=DAYS
    )
    partition = (START + timedelta(days=DAYS - 1)).isoformat()
    stored = settings.data_dir / "training_window" / f"{partition}.parquet"
    stored.parent.mkdir(parents=True)
    window.to_parquet(stored, index=False)
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    # A deployment's MLflow store and experiment exist before any training: create them first,
    # so the one-time schema migration is not counted as training.
    defs.resources["mlflow"].experiment_id()
    (home / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(home / "dagster")) as instance:
        started = time.perf_counter()
        result = job.execute_in_process(
            partition_key=partition,
            instance=instance,
            asset_selection=[dg.AssetKey(CANDIDATE_MODELS)],
            run_config={"ops": {CANDIDATE_MODELS: {"config": {"families": ["lightgbm"]}}}},
        )
        whole = time.perf_counter() - started
        events = instance.all_logs(result.run_id)
        step = [e.timestamp for e in events if e.step_key == CANDIDATE_MODELS]
    return whole, max(step) - min(step)


def bare_script(path: Path, out: Path) -> float:
    """The same work written by hand: read, train the same model, save it."""
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    train = frame[frame[SPLIT] == TRAIN]
    data = lgb.Dataset(
        train[list(FEATURE_COLUMNS)],
        label=train[LABEL],
        categorical_feature=list(CATEGORICAL_FEATURES),
    )
    booster = lgb.train(LIGHTGBM_PARAMS, data, num_boost_round=LIGHTGBM_ROUNDS)
    booster.save_model(str(out))
    return time.perf_counter() - started


def refresh_vs_full(window: pd.DataFrame, rounds: int) -> tuple[float, float, int]:
    """Full retrain on the window's training rows against a refresh, on the newest whole day of
    training rows (and the part-day after it, before the holdout), of the same model trained
    without them."""
    train = window[window[SPLIT] == TRAIN]
    rows = train[PARTITION].value_counts()
    newest_whole = max(p for p in rows.index if rows[p] >= 0.9 * rows.max())
    before = train[train[PARTITION] < newest_whole]
    started = time.perf_counter()
    train_lightgbm(train, train[LABEL], list(FEATURE_COLUMNS))
    full = time.perf_counter() - started
    champion = train_lightgbm(before, before[LABEL], list(FEATURE_COLUMNS)).model
    base = Base(
        "1",
        "lightgbm",
        {
            "ct.training_partitions": ",".join(sorted(before[PARTITION].unique())),
            "ct.batch_ids": ",".join(sorted(before["batch_id"].unique())),
            "ct.feature_set_id": str(train["feature_set_id"].iloc[0]),
        },
    )
    plan = plan_refresh(train, base, base.tags["ct.feature_set_id"], full_every=DAYS)
    started = time.perf_counter()
    refresh(champion, train, train[LABEL], plan, rounds)
    refreshed = time.perf_counter() - started
    return full, refreshed, int(plan.new_rows.sum()) if plan.new_rows is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="training rows")
    parser.add_argument("--rounds", type=int, default=PipelineSettings().incremental_rounds)
    args = parser.parse_args()
    started = time.perf_counter()
    window = window_of(args.rows)
    train_rows = int((window[SPLIT] == TRAIN).sum())
    print(
        f"window: {len(window):,} rows over {DAYS} days, {train_rows:,} training rows, "
        f"{len(FEATURE_COLUMNS)} features (built in {time.perf_counter() - started:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ct"
        whole, step = platform_step(window, home)
        partition = (START + timedelta(days=DAYS - 1)).isoformat()
        stored = home / "data" / "training_window" / f"{partition}.parquet"
        bare = bare_script(stored, Path(tmp) / "model.txt")
    print("training step, LightGBM, same data and parameters (one thread, 150 rounds):")
    print(f"  bare pandas + LightGBM script   {bare:7.1f} s")
    print(f"  ct candidate_models, step       {step:7.1f} s  ({step / bare:.2f}x)")
    print(f"  ct candidate_models, whole run  {whole:7.1f} s  ({whole / bare:.2f}x)  goal <= 1.5x")
    full, refreshed, new_rows = refresh_vs_full(window, args.rounds)
    print(f"incremental refresh ({new_rows:,} new rows, {args.rounds} rounds) vs full retrain:")
    print(f"  full retrain {full:7.1f} s, refresh {refreshed:6.2f} s  ({refreshed / full:.3f}x)")
    print("  goal <= 0.2x")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
