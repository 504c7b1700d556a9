"""Window selection, time-based holdout and the promotion gate, without Dagster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.evaluation import ScoredModel, decide_promotion, paired_bootstrap_gain, score
from ct_assets.ml.windows import (
    HOLDOUT,
    SPLIT,
    TRAIN,
    assemble_window,
    expected_partitions,
    summarize_window,
)

KEYS = [f"2026-01-{d:02d}" for d in range(1, 11)]


@pytest.mark.parametrize(
    ("last", "size", "expected"),
    [
        ("2026-01-05", 3, ["2026-01-03", "2026-01-04", "2026-01-05"]),
        ("2026-01-02", 3, ["2026-01-01", "2026-01-02"]),
        ("2026-01-10", 1, ["2026-01-10"]),
    ],
)
def test_expected_partitions(last: str, size: int, expected: list[str]) -> None:
    assert expected_partitions(KEYS, last, size) == expected


def day(key: str, hours: int = 10) -> pd.DataFrame:
    times = pd.date_range(key, periods=hours, freq="1h", tz="UTC")
    return pd.DataFrame(
        {"event_time": times, "batch_id": f"b-{key}", "label": [0, 1] * (hours // 2)}
    )


def test_holdout_is_the_most_recent_slice_in_time() -> None:
    # Partitions given out of order must still be cut by time.
    parts = {"2026-01-03": day("2026-01-03"), "2026-01-01": day("2026-01-01")}
    window = assemble_window(parts, holdout_fraction=0.2)
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    assert train["event_time"].max() < holdout["event_time"].min()
    assert len(holdout) == 4
    assert set(holdout["partition"]) == {"2026-01-03"}


def test_window_summary_names_missing_partitions_and_batches() -> None:
    parts = {"2026-01-01": day("2026-01-01"), "2026-01-03": day("2026-01-03")}
    window = assemble_window(parts, holdout_fraction=0.25)
    summary = summarize_window(window, ["2026-01-01", "2026-01-02", "2026-01-03"])
    assert summary.partitions == ["2026-01-01", "2026-01-03"]
    assert summary.missing == ["2026-01-02"]
    assert summary.batch_ids == ["b-2026-01-01", "b-2026-01-03"]
    assert summary.train_rows + summary.holdout_rows == 20


def test_empty_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        assemble_window({"2026-01-01": day("2026-01-01").head(0)}, 0.2)


def m(version: str, auc: float) -> ScoredModel:
    return ScoredModel(version, "lightgbm", auc, 0.5)


def test_first_model_is_judged_on_the_floor_alone() -> None:
    assert decide_promotion([m("1", 0.7), m("2", 0.65)], None, 0.6, 0.01).promote
    decision = decide_promotion([m("1", 0.7), m("2", 0.65)], None, 0.6, 0.01)
    assert decision.candidate == m("1", 0.7)
    refused = decide_promotion([m("1", 0.55)], None, 0.6, 0.01)
    assert not refused.promote and "below the floor" in refused.reason


@pytest.mark.parametrize(
    ("candidate", "champion", "promote"),
    [(0.80, 0.75, True), (0.755, 0.75, False), (0.76, 0.75, True), (0.70, 0.75, False)],
)
def test_margin_over_the_champion(candidate: float, champion: float, promote: bool) -> None:
    decision = decide_promotion([m("5", candidate)], m("2", champion), 0.6, 0.01)
    assert decision.promote is promote
    assert ("beats" in decision.reason) is promote


def test_floor_applies_even_when_the_champion_is_worse() -> None:
    decision = decide_promotion([m("5", 0.58)], m("2", 0.40), 0.6, 0.01)
    assert not decision.promote


def test_champion_cannot_be_its_own_challenger() -> None:
    assert not decide_promotion([m("2", 0.9)], m("2", 0.9), 0.6, 0.0).promote


def test_score_rejects_a_single_class_holdout() -> None:
    with pytest.raises(ValueError, match="single class"):
        score(pd.Series([1, 1]).to_numpy(), pd.Series([0.2, 0.9]).to_numpy())
    assert score(pd.Series([0, 1]).to_numpy(), pd.Series([0.2, 0.9]).to_numpy())["roc_auc"] == 1.0


def test_the_paired_bootstrap_separates_a_real_gain_from_noise() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 600)
    signal = labels + rng.normal(0, 1.0, 600)
    same = paired_bootstrap_gain(labels, signal, signal, resamples=300)
    assert same["gain"] == same["lower"] == same["upper"] == 0.0
    noisy = paired_bootstrap_gain(labels, signal + rng.normal(0, 0.05, 600), signal, resamples=300)
    assert noisy["lower"] < 0.0 < noisy["upper"]
    better = paired_bootstrap_gain(labels, labels + rng.normal(0, 0.3, 600), signal, resamples=300)
    assert better["lower"] > 0.1 and better["resamples"] == 300


def test_a_gain_inside_the_noise_is_refused_and_a_clear_one_promoted() -> None:
    champion = m("2", 0.70)
    lucky = ScoredModel("5", "lightgbm", 0.72, 0.5, gain_lower=-0.01, gain_upper=0.05)
    refused = decide_promotion([lucky], champion, 0.6, 0.01)
    assert not refused.promote
    assert "95% CI [-0.0100, +0.0500]: lower bound < margin 0.0100" in refused.reason
    clear = ScoredModel("6", "lightgbm", 0.80, 0.5, gain_lower=0.06, gain_upper=0.14)
    promoted = decide_promotion([clear], champion, 0.6, 0.01)
    assert promoted.promote and "lower bound >= margin" in promoted.reason
