"""Batch scoring (`batch_predictions`, `ct predict`) against a bare LightGBM predict.

Prints figures; asserts nothing. Run: `uv run python bench/batch_scoring.py [--rows N]
[--example shop|energy]`.
Goal (issue 14): ct's scoring function (`ct_assets.ml.scoring.score_frame`: the model's
columns out of the features frame under LightGBM's names, predict, the output frame with row id,
entity, time, model version and feature-set id per row) at >= 0.8x the rows/s of a bare
`Booster.predict` on a ready float matrix of the same rows, same booster.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from common import example_project, validated_day

from ct_assets.ml.families import Inputs
from ct_assets.ml.families.flavours import lightgbm_frame
from ct_assets.ml.families.lightgbm import NAME as LIGHTGBM
from ct_assets.ml.families.lightgbm import train_lightgbm
from ct_assets.ml.features import build_features
from ct_assets.ml.frames import LABEL
from ct_assets.ml.scoring import score_frame
from ct_assets.ml.training import model_features

START = date(2026, 1, 1)


def best_of(runs: int, work: object) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="shop", choices=["shop", "energy"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    module = importlib.import_module(f"examples.{args.example}.generator")
    with tempfile.TemporaryDirectory() as tmp:
        project = example_project(
            args.example, Path(tmp) / "project", {"partitions": {"start": START.isoformat()}}
        )
        spec = project.spec
        days = 4
        source = module.demo_source(START, args.rows // days, 100)
        frames = [validated_day(source, i, spec) for i in range(days)]
        features = build_features(pd.concat(frames, ignore_index=True), spec)
        inputs = Inputs(spec.task.type, spec.feature_names, spec.categorical_inputs)
        booster = train_lightgbm(features.head(200_000), features[LABEL].head(200_000), inputs)
        model = booster.model
        matrix = np.ascontiguousarray(
            lightgbm_frame(features, model_features(LIGHTGBM, model)).to_numpy(dtype=np.float64)
        )
        bare = best_of(args.runs, lambda: model.predict(matrix))
        ct = best_of(args.runs, lambda: score_frame(LIGHTGBM, model, features, "1"))
        scored = score_frame(LIGHTGBM, model, features, "1")
        same = np.allclose(scored["prediction"].to_numpy(), model.predict(matrix))
        n = len(features)
        print(
            f"bench/batch_scoring.py  example={args.example}  {n:,} rows, "
            f"{len(spec.feature_names)} features, {model.num_trees()} trees"
        )
        print(f"bare Booster.predict on a float matrix: {bare:.2f} s = {n / bare:,.0f} rows/s")
        print(f"ct score_frame (frame in, frame out):   {ct:.2f} s = {n / ct:,.0f} rows/s")
        print(f"ratio {bare / ct:.2f}x of bare (goal >= 0.8x); same predictions: {same}")


if __name__ == "__main__":
    main()
