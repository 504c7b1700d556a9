"""Helpers shared by several test files, unit and integration:
the ones tests/test_training.py held."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ct_assets.ml.families import Inputs
from ct_assets.ml.frames import BATCH, FEATURE_SET, LABEL, PARTITION, TIME
from ct_assets.ml.vocabulary import BINARY

AWKWARD = ("Total Amount (USD)", "Price [EUR]", "ratio a:b", "x,y", "100% sure", "plan {tier}")


def frame(task: str, rows: int = 1200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = {name: rng.normal(size=rows) for name in AWKWARD[:-1]}
    values[AWKWARD[-1]] = rng.integers(0, 3, rows)  # a category's integer codes
    signal = values[AWKWARD[0]] - 0.5 * values[AWKWARD[1]] + 0.8 * (values[AWKWARD[-1]] == 2)
    label = (signal + rng.normal(0, 0.5, rows) > 0).astype(int) if task == BINARY else signal
    out = pd.DataFrame({**values, LABEL: label})
    out[BATCH] = np.where(np.arange(rows) < rows // 2, "b0", "b1")
    out[PARTITION] = np.where(np.arange(rows) < rows // 2, "2026-01-01", "2026-01-02")
    out[FEATURE_SET] = "fs1"
    out[TIME] = pd.date_range("2026-01-01", periods=rows, freq="2min", tz="UTC")
    return out


def inputs_for(task: str) -> Inputs:
    return Inputs(task, AWKWARD, (AWKWARD[-1],))
