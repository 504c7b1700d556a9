"""Unit tests of ct_assets/ml/selection.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.selection import Selection, SelectionConfig, dominant_value, select_features


def test_selection_drops_constant_near_constant_and_mostly_null_features_with_reasons() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    train = pd.DataFrame(
        {
            "useful": rng.normal(size=n),
            "constant": np.ones(n),
            "near_constant": np.r_[np.zeros(n - 2), [1.0, 2.0]],
            "mostly_null": np.r_[rng.normal(size=10), np.full(n - 10, np.nan)],
            "weak": rng.normal(size=n),
        }
    )
    names = list(train.columns)
    chosen = select_features(train, names, SelectionConfig())
    assert chosen.kept == ["useful", "weak"]
    assert chosen.dropped["constant"] == "constant"
    assert chosen.dropped["near_constant"].startswith("near-constant (99.80%")
    assert chosen.dropped["mostly_null"].startswith("mostly null (99.0%")
    ranked = select_features(
        train, names, SelectionConfig(top_k=1), importance={"useful": 9.0, "weak": 1.0}
    )
    assert ranked.kept == ["useful"] and "top 1" in ranked.dropped["weak"]
    assert select_features(train, names, SelectionConfig(enabled=False)).kept == names


@pytest.mark.parametrize("share", [0.5001, 0.9, 0.995, 1.0])
def test_the_dominant_value_by_selection_agrees_with_counting(share: float) -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    held = int(n * share)
    column = pd.Series(np.r_[np.full(held, 3.25), rng.normal(size=n - held), [np.nan] * 50])
    column = column.sample(frac=1.0, random_state=1)
    value, found = dominant_value(column, 0.6)
    counts = column.value_counts()
    assert value == 3.25 and found == pytest.approx(counts.iloc[0] / counts.sum())


def test_a_forced_feature_is_kept_with_its_risk_others_are_left_out_with_their_reason() -> None:
    pruned = Selection(kept=["x1", "day_of_week", "hour"], dropped={"flat": "constant"})
    leaks = {"day_of_week": "names the partition: ...", "hour": "names the partition: ..."}
    guarded = pruned.guarded(leaks, ["day_of_week", "flat"])
    assert guarded.kept == ["x1", "day_of_week", "flat"]
    assert guarded.dropped == {"hour": "names the partition: ..."}
    assert guarded.forced["day_of_week"].startswith("forced in by training.selection.force")
    assert "names the partition" in guarded.forced["day_of_week"]
    assert "constant" in guarded.forced["flat"]
