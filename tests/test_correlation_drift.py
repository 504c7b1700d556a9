"""Correlation-structure drift: a change of meaning upstream that leaves every column's own
distribution as it was, invisible to per-feature tests, seen in the rank correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ct_assets.drift import correlation_metadata
from ct_assets.ml.drift import correlation_shift, measure_drift

COLUMNS = ["x", "y", "z"]


def frame(seed: int, sign: float, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    # y = ±x + noise has the same distribution either way (x is symmetric): only the
    # relation between x and y flips, as when an upstream field changes meaning.
    y = sign * x + rng.normal(0, 0.5, n)
    return pd.DataFrame({"x": x, "y": y, "z": rng.normal(5, 2, n)})


def test_a_flipped_relation_is_a_correlation_shift_where_evidently_sees_no_drift() -> None:
    reference, current = frame(1, 1.0), frame(2, -1.0)
    drift, _ = measure_drift(reference, current, ["r"], COLUMNS, [])
    assert drift.drift_share == 0.0 and drift.drifted_features == []

    shift = correlation_shift(reference, current, COLUMNS, threshold=0.3)
    assert shift.shifted_features == ["x", "y"]
    by_column = {c.feature: c for c in shift.columns}
    assert by_column["x"].partner == "y" and by_column["y"].partner == "x"
    assert by_column["x"].reference_rho > 0.8 and by_column["x"].current_rho < -0.8
    assert shift.max_shift > 1.6
    assert not by_column["z"].shifted and by_column["z"].shift < 0.1

    shown = correlation_metadata(shift)
    assert shown["correlation_shifted_features"] == "x, y"
    assert shown["max_correlation_shift"] == shift.max_shift
    assert "| x " in shown["correlation_per_feature"].value


def test_the_same_relation_on_new_rows_is_no_shift() -> None:
    shift = correlation_shift(frame(1, 1.0), frame(3, 1.0), COLUMNS, threshold=0.3)
    assert shift.shifted_features == [] and shift.max_shift < 0.1
    assert correlation_metadata(shift)["correlation_shifted_features"] == "none"


@pytest.mark.parametrize("columns", [[], ["x"]])
def test_fewer_than_two_columns_have_no_correlation_to_shift(columns: list[str]) -> None:
    shift = correlation_shift(frame(1, 1.0), frame(2, -1.0), columns, threshold=0.3)
    assert shift.columns == [] and shift.max_shift == 0.0


def test_a_constant_column_is_left_out_not_counted_as_a_shift() -> None:
    reference, current = frame(1, 1.0), frame(2, 1.0)
    reference["c"], current["c"] = 1.0, 1.0
    shift = correlation_shift(reference, current, [*COLUMNS, "c"], threshold=0.3)
    assert "c" not in {c.feature for c in shift.columns}
    assert "c" not in {c.partner for c in shift.columns}
