"""Unit tests of ct_assets/ml/records.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from ct_assets.ml.loop import retrain_reasons
from ct_assets.ml.records import (
    Decided,
    DriftSummary,
    Evaluated,
    FeatureRows,
    LiveScore,
    RawBatches,
    Registered,
    ValidatedRows,
)
from tests.helpers.policy import policy


@pytest.mark.parametrize(("share", "fires"), [(0.49, False), (0.5, True), (0.8, True)])
def test_drift_reason_fires_at_the_declared_share(share: float, fires: bool) -> None:
    drift = DriftSummary(share=share, drifted=["log_amount", "channel"])
    found = retrain_reasons(policy(triggers=["drift"], drift_share=0.5), "roc_auc", drift, None)
    assert [r.trigger for r in found] == (["drift"] if fires else [])
    if fires:
        assert f"drift share {share:.2f} reaches 0.50" in found[0].text
        assert "log_amount, channel" in found[0].text


BEFORE_RECORDS = {
    # champion_performance as ct wrote it before records (display entries only).
    "champion_version": "7",
    "previous_version": "none",
    "baking": False,
    "rows": 1500,
    "metric": "roc_auc",
    "champion_roc_auc": 0.61,
    "previous_roc_auc": math.nan,
    "baseline_roc_auc": 0.70,
    "worse_than_baseline_by": 0.09,
    "worse_than_previous_by": math.nan,
    "live_degraded": True,
    "evaluation_gap_exceeded": False,
    "label_shifted": False,
    "note": "",
}


def test_metadata_an_earlier_ct_wrote_reads_as_the_same_record() -> None:
    read = LiveScore.from_metadata(BEFORE_RECORDS)
    assert read is not None
    assert (read.metric, read.rows, read.champion_version) == ("roc_auc", 1500, "7")
    assert read.champion == 0.61 and read.baseline == 0.70 and read.live_degraded
    drift = DriftSummary.from_metadata({"drift_share": 0.5, "drifted_features": "a, b c"})
    assert drift == DriftSummary(share=0.5, drifted=["a", "b c"])
    assert DriftSummary.from_metadata({"drift_share": 0.0, "drifted_features": "none"}) == (
        DriftSummary(share=0.0)
    )


def test_a_record_missing_or_renamed_fails_loudly_instead_of_reading_nan() -> None:
    assert LiveScore.from_metadata(None) is None
    assert LiveScore.from_metadata({"unrelated": 1}) is None
    written = LiveScore(metric="rmse", rows=10, champion_version="2").entry()
    renamed = {LiveScore.KEY: {**written[LiveScore.KEY], "champion_score": 1.0}}
    with pytest.raises(ValidationError, match="champion_score"):
        LiveScore.from_metadata(renamed)
    # The display entries cannot stand in for a record that is there.
    shown = {**BEFORE_RECORDS, **written}
    read = LiveScore.from_metadata(shown)
    assert read is not None and read.metric == "rmse"


def test_the_winner_and_the_decision_read_back_from_what_an_earlier_ct_wrote() -> None:
    registered = Registered.from_metadata(
        {
            "model_versions": "12",
            "winner": "sklearn_hgb on last_3",
            "mlflow_run_ids": "abc",
            "version_reused": False,
            "training_partitions": "2026-01-01,2026-01-02",
            "batch_ids": "b1,b2",
            "feature_set_id": "fs",
        }
    )
    assert registered is not None
    assert (registered.version, registered.family, registered.window) == (
        "12",
        "sklearn_hgb",
        "last_3",
    )
    assert registered.winner == "sklearn_hgb on last_3"
    assert registered.training_partitions == ["2026-01-01", "2026-01-02"]
    kept = Decided.from_metadata(
        {
            "decision": "keep champion",
            "reason": "margin",
            "champion_before": "3",
            "champion_after": "3",
            "metric": "rmse",
            "candidate_version": "4",
            "candidate_family": "lightgbm",
            "candidate_rmse": 10.5,
            "champion_rmse": 10.0,
        }
    )
    assert kept is not None and not kept.promoted
    assert kept.serving_figure == 10.0 and kept.candidate == 10.5
    first = Decided(
        decision="promote",
        reason="first",
        champion_before=None,
        champion_after="1",
        metric="roc_auc",
        candidate=0.8,
    )
    assert Decided.from_metadata(first.entry()) == first and first.serving_figure == 0.8


def test_the_counts_stages_hand_on_read_back_from_their_record_and_from_an_earlier_ct() -> None:
    """raw, validated, features and evaluations: what `ct status`, `ct demo` and validated's
    own volume history read, written once and read back, or rebuilt from display entries."""
    raw = RawBatches(batch_ids=["b1", "b2"], new_batch_ids=["b2"])
    assert RawBatches.from_metadata(raw.entry()) == raw
    assert RawBatches.from_metadata({"batch_ids": "b1, b2", "new_batch_ids": "none"}) == (
        RawBatches(batch_ids=["b1", "b2"])
    )
    rows = ValidatedRows(
        validated=399, delivered=420, set_aside=1, refused=20, quarantined_batch_ids=["b3"]
    )
    assert ValidatedRows.from_metadata(rows.entry()) == rows
    legacy = {
        "dagster/row_count": 399,
        "rows_delivered": 420,
        "rows_set_aside": 1,
        "rows_refused": 20,
        "accepted_batch_ids": "none",
        "quarantined_batch_ids": "b3",
    }
    assert ValidatedRows.from_metadata(legacy) == rows
    assert rows.delivered == rows.validated + rows.set_aside + rows.refused
    features = FeatureRows(rows=399, unseen_category_rows=4)
    assert FeatureRows.from_metadata(features.entry()) == features
    assert FeatureRows.from_metadata({"dagster/row_count": 399, "unseen_category_rows": 4}) == (
        features
    )
    evaluated = Evaluated(metric="roc_auc", best_version="7", best=math.nan, holdout_rows=80)
    read = Evaluated.from_metadata(evaluated.entry())
    assert read is not None and read.best_version == "7" and math.isnan(read.best)
    # Nothing recorded: no record, never a record of zeros.
    assert ValidatedRows.from_metadata({"dagster/row_count": 3}) is None
    assert Evaluated.from_metadata({"best_candidate_roc_auc": 0.7}) is None
