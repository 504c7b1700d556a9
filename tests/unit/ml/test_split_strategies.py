"""Unit tests of ct_assets/ml/split_strategies.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.frames import HOLDOUT, SPLIT
from ct_assets.ml.split_strategies import holdout_mask, leakage_warnings
from ct_assets.ml.windows import assemble_window
from ct_assets.project.load import ProjectError, load_project
from tests.conftest import write_project
from tests.helpers.splits import parts


def every_third(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    return (np.arange(len(window)) % 3) == 0


def test_a_custom_strategy_is_imported_by_name_and_bad_ones_are_refused(tmp_path: Path) -> None:
    window = assemble_window(
        parts(1), 0.2, "custom:tests.unit.ml.test_split_strategies:every_third"
    )
    assert abs(float((window[SPLIT] == HOLDOUT).mean()) - 1 / 3) < 0.01
    with pytest.raises(ValueError, match="cannot import"):
        holdout_mask(window, "custom:tests.nowhere:f", 0.2, 0)
    with pytest.raises(ValueError, match="expected one of time"):
        holdout_mask(window, "coin_flip", 0.2, 0)
    root = tmp_path / "project"
    write_project(root)
    with pytest.raises(ProjectError, match=r"CT_SPLIT_STRATEGY \(training\.split\).*coin_flip"):
        load_project(root, environ={"CT_SPLIT_STRATEGY": "coin_flip"})
    with pytest.raises(ProjectError, match=r"training\.split: 'coin_flip': expected one of time"):
        write_project(tmp_path / "declared", changes={"training": {"split": "coin_flip"}})
    custom = load_project(root, environ={"CT_SPLIT_STRATEGY": "custom:tests.test_splits:f"})
    assert custom.spec.training.split == "custom:tests.test_splits:f"
    mask = np.zeros(len(window), dtype=bool)
    mask[:5] = True
    assert leakage_warnings(window, mask, "custom") != []
