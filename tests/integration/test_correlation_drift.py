"""Correlation-structure drift: a change of meaning upstream that leaves every column's own
distribution as it was, invisible to per-feature tests, seen in the rank correlations."""

from __future__ import annotations

from ct_assets.ml.drift import correlation_shift, measure_drift
from ct_assets.stages.drift import correlation_metadata
from tests.helpers.correlation_drift import COLUMNS, frame


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
