"""Unit tests of ct_assets/ml/candidates.py, the candidates stage: its pure helpers (the label
figures a prior shift is held against, what the incremental candidate does in words).

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pandas as pd

from ct_assets.ml.candidates import incremental_note
from ct_assets.ml.incremental import Plan
from ct_assets.ml.tags import Provenance


def label_figures(labels: pd.Series) -> dict[str, str]:
    learnt = Provenance(
        train_label_mean=float(labels.mean()), train_label_std=float(labels.std(ddof=0))
    )
    return learnt.tags()


def test_label_figures_are_the_training_labels_mean_and_spread() -> None:
    assert label_figures(pd.Series([0, 1, 1, 0])) == {
        "ct.train_label_mean": "0.5",
        "ct.train_label_std": "0.5",
    }
    # Six significant digits: the population spread of 1, 2, 3 is sqrt(2/3).
    assert label_figures(pd.Series([1.0, 2.0, 3.0])) == {
        "ct.train_label_mean": "2",
        "ct.train_label_std": "0.816497",
    }


def test_the_incremental_note_says_what_the_continuing_family_does() -> None:
    no_refresh = Plan(refresh=False, reason="no champion to continue")
    families = ["lightgbm", "sklearn_linear"]
    assert incremental_note(no_refresh, families) == "not among the candidate families"
    assert families == ["lightgbm", "sklearn_linear"]

    # Its from-scratch twin trains anyway: the continuing family would only duplicate it.
    families = ["lightgbm", "lightgbm_incremental"]
    note = incremental_note(no_refresh, families)
    assert note == "no champion to continue: the lightgbm candidates are the full retrain"
    assert families == ["lightgbm"]

    families = ["lightgbm_incremental"]
    assert incremental_note(no_refresh, families) == "no champion to continue: full retrain"
    assert families == ["lightgbm_incremental"]

    refresh = Plan(refresh=True, reason="refreshed on 2 new partitions")
    families = ["lightgbm", "lightgbm_incremental"]
    assert incremental_note(refresh, families) == "refreshed on 2 new partitions"
    assert families == ["lightgbm", "lightgbm_incremental"]
