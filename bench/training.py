"""The training step against a bare pandas + LightGBM script, and refresh against full retrain.

Prints figures; asserts nothing. Run: `uv run python bench/training.py [--rows N]
[--example shop|energy]`.
Goals (issue 5), same data and same model:
- the platform's training step (the `candidate_models` asset materialized through Dagster:
  Parquet in, feature selection, LightGBM, MLflow run, model logged with signature and input
  example, registered version with tags) within 1.5x of a bare script that reads the same
  Parquet, trains the same LightGBM and saves it, on N training rows (default 1M), with one
  candidate window (`training.windows: [<window>]`: the same model); the same step with ct's
  default candidate windows (the newest 1 and 3 days and the whole window compete, issue 20)
  is printed beside it: what the competition costs;
- an incremental refresh (the champion continued on one new day) within 0.2x of the full
  retrain on the window.

The project is made from `examples/<example>/ct.yaml` (its window widened to the bench's days);
its generator writes the events, which are validated and featurized as the pipeline does.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import lightgbm as lgb
import pandas as pd
from common import example_project, peak_rss_mib, validated_day

from ct_assets.definitions import build_definitions
from ct_assets.ml.families import Inputs
from ct_assets.ml.families.lightgbm import LIGHTGBM_ROUNDS, lightgbm_params, train_lightgbm
from ct_assets.ml.features import build_features
from ct_assets.ml.frames import BATCH, FEATURE_SET, LABEL, PARTITION, SPLIT, TIME, TRAIN
from ct_assets.ml.incremental import Base, plan_refresh, refresh
from ct_assets.ml.tags import ModelLineage, Provenance
from ct_assets.ml.windows import assemble_window
from ct_assets.names import CANDIDATE_MODELS, TRAINING_WINDOW
from ct_assets.project.load import Project

DAYS = 8
START = date(2026, 1, 1)


def inputs_of(project: Project) -> Inputs:
    spec = project.spec
    return Inputs(spec.task.type, spec.feature_names, spec.categorical_inputs)


def source_of(example: str, per_day: int) -> Any:
    module = importlib.import_module(f"examples.{example}.generator")
    if example == "shop":
        # Many customers, so that the window features aggregate real histories; no shift.
        return module.DriftingSource(
            start=START, rows_per_day=per_day, entities=50_000, drift_day=100
        )
    return module.demo_source(START, per_day, drift_day=100)


def window_of(project: Project, example: str, train_rows: int) -> pd.DataFrame:
    """DAYS days of features whose holdout cut leaves `train_rows` training rows."""
    spec = project.spec
    training = spec.training
    per_day = int(train_rows / (1 - training.holdout_fraction) / DAYS)
    source = source_of(example, per_day)
    days = [validated_day(source, i, spec) for i in range(DAYS)]
    features = build_features(pd.concat(days, ignore_index=True), spec)
    key = features[TIME].dt.strftime("%Y-%m-%d")
    parts = {k: g.reset_index(drop=True) for k, g in features.groupby(key)}
    return assemble_window(parts, training.holdout_fraction, training.split, training.seed)


def platform_step(project: Project, window: pd.DataFrame) -> tuple[float, float, Any]:
    """Whole run and the asset step alone, materialized on a real instance and MLflow store."""
    partition = (START + timedelta(days=DAYS - 1)).isoformat()
    stored = project.data_dir / TRAINING_WINDOW / f"{partition}.parquet"
    stored.parent.mkdir(parents=True)
    window.to_parquet(stored, index=False)
    defs = build_definitions(project)
    job = defs.resolve_implicit_global_asset_job_def()
    # A deployment's MLflow store and experiment exist before any training: create them first,
    # so the one-time schema migration is not counted as training.
    (defs.resources or {})["mlflow"].experiment_id()
    (project.home / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(project.home / "dagster")) as instance:
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
        materialized = result.asset_materializations_for_node(CANDIDATE_MODELS)[0]
    return whole, max(step) - min(step), materialized.metadata


def bare_script(path: Path, out: Path, inputs: Inputs) -> float:
    """The same work written by hand: read, train the same model, save it."""
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    train = frame[frame[SPLIT] == TRAIN]
    data = lgb.Dataset(
        train[list(inputs.features)],
        label=train[LABEL],
        categorical_feature=list(inputs.categorical) or "auto",
    )
    booster = lgb.train(lightgbm_params(inputs.task), data, num_boost_round=LIGHTGBM_ROUNDS)
    booster.save_model(str(out))
    return time.perf_counter() - started


def refresh_vs_full(
    project: Project, window: pd.DataFrame, rounds: int
) -> tuple[float, float, int, str]:
    """Full retrain on the window's training rows against a refresh, on the newest whole day of
    training rows (and the part-day after it, before the holdout), of the same model trained
    without them."""
    inputs = inputs_of(project)
    train = window[window[SPLIT] == TRAIN]
    rows = train[PARTITION].value_counts()
    newest_whole = max(p for p in rows.index if rows[p] >= 0.9 * rows.max())
    before = train[train[PARTITION] < newest_whole]
    started = time.perf_counter()
    train_lightgbm(train, train[LABEL], inputs)
    full = time.perf_counter() - started
    champion = train_lightgbm(before, before[LABEL], inputs).model
    base = Base(
        "1",
        "lightgbm",
        {
            **ModelLineage(
                training_partitions=sorted(before[PARTITION].unique()),
                batch_ids=sorted(before[BATCH].unique()),
            ).tags(),
            **Provenance(feature_set_id=str(train[FEATURE_SET].iloc[0])).tags(),
        },
    )
    full_every = project.spec.training.full_retrain_every
    plan = plan_refresh(train, base, base.feature_set_id or "", full_every)
    if not plan.refresh:
        return full, float("nan"), 0, plan.reason
    started = time.perf_counter()
    refresh(champion, train, train[LABEL], plan, rounds, inputs)
    refreshed = time.perf_counter() - started
    new_rows = int(plan.new_rows.sum()) if plan.new_rows is not None else 0
    return full, refreshed, new_rows, plan.reason


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="training rows")
    parser.add_argument("--example", choices=["shop", "energy"], default="shop")
    parser.add_argument("--rounds", type=int, help="refresh rounds (default: ct.yaml's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        changes = {"partitions": {"start": START.isoformat()}, "training": {"window": DAYS}}
        # One candidate window: the same model as the bare script trains.
        one = {"training": {"window": DAYS, "windows": [DAYS]}}
        project = example_project(args.example, Path(tmp) / args.example, {**changes, **one})
        competing = example_project(args.example, Path(tmp) / "competing", changes)
        spec = project.spec
        rounds = args.rounds or spec.training.incremental_rounds
        started = time.perf_counter()
        window = window_of(project, args.example, args.rows)
        train_rows = int((window[SPLIT] == TRAIN).sum())
        print(
            f"{args.example} ({spec.task.type}, {spec.metric}): {len(window):,} rows over {DAYS} "
            f"days, {train_rows:,} training rows, {len(spec.feature_names)} features "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        whole, step, metadata = platform_step(project, window)
        all_whole, all_step, all_metadata = platform_step(competing, window)
        partition = (START + timedelta(days=DAYS - 1)).isoformat()
        stored = project.data_dir / TRAINING_WINDOW / f"{partition}.parquet"
        bare = bare_script(stored, Path(tmp) / "model.txt", inputs_of(project))
    kept = metadata["features_kept"].value
    dropped = metadata["features_dropped"].value
    print(
        f"training step, LightGBM, same data and parameters (one thread, {LIGHTGBM_ROUNDS} rounds):"
    )
    print(f"  bare pandas + LightGBM script   {bare:7.1f} s  ({len(spec.feature_names)} features)")
    print(f"  ct candidate_models, step       {step:7.1f} s  ({step / bare:.2f}x)")
    print(f"  ct candidate_models, whole run  {whole:7.1f} s  ({whole / bare:.2f}x)  goal <= 1.5x")
    print(f"  (the step's feature selection kept {kept} features; dropped: {dropped})")
    windows = ", ".join(map(str, competing.spec.training.candidate_windows))
    print(
        f"  with ct's default windows ({windows}; {all_metadata['contenders'].value} models "
        f"trained, {all_metadata['winner'].value} registered): step {all_step:.1f} s "
        f"({all_step / bare:.2f}x), whole run {all_whole:.1f} s ({all_whole / bare:.2f}x)"
    )
    full, refreshed, new_rows, reason = refresh_vs_full(project, window, rounds)
    print(f"incremental refresh ({new_rows:,} new rows, {rounds} rounds) vs full retrain:")
    print(f"  full retrain {full:7.1f} s, refresh {refreshed:6.2f} s  ({refreshed / full:.3f}x)")
    print(f"  goal <= 0.2x; plan: {reason}")
    print(f"peak RSS {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
