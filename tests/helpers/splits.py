"""Helpers shared by several test files, unit and integration:
the ones tests/test_splits.py held."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ct_assets.ml.features import build_features
from examples.shop.generator import DriftingSource
from tests.helpers.features import SHOP, validated

SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=800, drift_day=100)


def parts(days: int = 3) -> dict[str, pd.DataFrame]:
    """Features of the shop example's first days, by partition, as the window reads them."""
    out = {}
    for index in range(days):
        key = SOURCE.start.fromordinal(SOURCE.start.toordinal() + index).isoformat()
        out[key] = build_features(validated(SOURCE.day(index), SHOP, f"b{index}"), SHOP)
    return out
