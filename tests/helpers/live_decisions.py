"""Helpers shared by several test files, unit and integration:
the ones tests/test_live_decisions.py held."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml.frames import BATCH, LABEL, TIME
from ct_assets.ml.windows import assemble_window

DAYS = [f"2026-03-{d:02d}" for d in range(1, 29)]


def stream(days: int, rows: int = 400, seed: int = 0, flip_from: int | None = None) -> dict:
    """Daily partitions of a binary stream: the label follows x1 + x2 (or, from `flip_from`
    on, the opposite rule); the calendar columns a careless project would add."""
    rng = np.random.default_rng(seed)
    parts = {}
    for index in range(days):
        key = DAYS[index]
        times = pd.Timestamp(key, tz="UTC") + pd.to_timedelta(
            np.sort(rng.integers(0, 86_400, rows)), unit="s"
        )
        x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
        signal = x1 + x2 if flip_from is None or index < flip_from else -(x1 + x2)
        label = (signal + rng.normal(scale=0.8, size=rows) > 0).astype(int)
        parts[key] = pd.DataFrame(
            {
                TIME: times,
                BATCH: f"b-{key}",
                LABEL: label,
                "x1": x1,
                "x2": x2,
                "day_of_week": np.full(rows, times[0].dayofweek),
                "hour": times.hour,
                "skewed": rng.choice([0, 1], size=rows, p=[0.9, 0.1]),
                "temperature": np.full(rows, rng.normal(15, 5)),
            }
        )
    return parts


def window_of(days: int, **kwargs: Any) -> pd.DataFrame:
    return assemble_window(stream(days, **kwargs), holdout_fraction=0.2)
