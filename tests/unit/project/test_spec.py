"""Unit tests of ct_assets/project/spec.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pytest

from ct_assets.project.spec import (
    NumericDrift,
    Training,
)


def test_an_unbounded_method_takes_any_positive_threshold() -> None:
    assert NumericDrift(method="psi", threshold=2.0).threshold == 2.0


def test_declared_windows_longer_than_the_training_window_are_the_whole_window() -> None:
    assert Training(window=5, windows=[1, 3, 7, "since_change"]).candidate_windows == (
        1,
        3,
        5,
        "since_change",
    )
    assert Training(window=7).candidate_windows == (1, 3, 7, "since_change")
    with pytest.raises(ValueError, match="at least 1 partition"):
        Training(windows=[0, 3])
