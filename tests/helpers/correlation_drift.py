"""Helpers shared by several test files, unit and integration:
the ones tests/test_correlation_drift.py held."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["x", "y", "z"]


def frame(seed: int, sign: float, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    # y = ±x + noise has the same distribution either way (x is symmetric): only the
    # relation between x and y flips, as when an upstream field changes meaning.
    y = sign * x + rng.normal(0, 0.5, n)
    return pd.DataFrame({"x": x, "y": y, "z": rng.normal(5, 2, n)})
