"""Unit tests of ct_assets/ml/loop.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

import pytest

from ct_assets.ml.loop import RetrainReason, change_point, retrain_reasons, rollback_decision
from ct_assets.ml.records import LiveScore
from ct_assets.project.spec import Rollback, Threshold
from tests.helpers.policy import performance, policy
from tests.helpers.rollback import scored, served


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ({}, None),
        ({"d1": False, "d2": False}, None),
        ({"d1": False, "d2": True, "d3": True}, "d2"),
        # A recovered run still names its start; a newer run replaces it.
        ({"d1": True, "d2": True, "d3": False, "d4": False}, "d1"),
        ({"d1": True, "d2": False, "d3": True, "d4": True}, "d3"),
    ],
)
def test_the_change_point_is_where_the_newest_break_began(
    broken: dict[str, bool], expected: str | None
) -> None:
    assert change_point(broken) == expected


def baking(
    partition: str, live: float, previous: float, gap_exceeded: bool
) -> tuple[str, LiveScore]:
    return (
        partition,
        LiveScore(
            metric="roc_auc",
            rows=3000,
            champion_version="9",
            previous_version="8",
            baking=True,
            champion=live,
            previous=previous,
            baseline=0.95,
            worse_than_previous_by=round(previous - live, 6),
            gap_exceeded=gap_exceeded,
        ),
    )


def test_a_champion_whose_holdout_misled_goes_back_when_the_previous_did_better() -> None:
    policy = Rollback(margin=Threshold(value=0.1))
    # Worse than its previous by 0.01 only (under the margin), but its holdout missed: back.
    missed = [baking("d5", live=0.80, previous=0.81, gap_exceeded=True)]
    decision = rollback_decision(policy, "roc_auc", "9", "8", missed)
    assert decision.rollback and "did not predict production" in decision.reason
    # The same figures without a gap: held (within the margin).
    kept = [baking("d5", live=0.80, previous=0.81, gap_exceeded=False)]
    assert not rollback_decision(policy, "roc_auc", "9", "8", kept).rollback
    # A gap where the previous did no better (the world changed for both): held.
    both = [baking("d5", live=0.60, previous=0.58, gap_exceeded=True)]
    assert not rollback_decision(policy, "roc_auc", "9", "8", both).rollback
    # The policy can turn it off.
    off = Rollback(margin=Threshold(value=0.1), on_evaluation_gap=False)
    assert not rollback_decision(off, "roc_auc", "9", "8", missed).rollback


@pytest.mark.parametrize(
    ("retrain", "metric", "score", "expected"),
    [
        (
            {"triggers": ["performance"]},
            "roc_auc",
            performance(0.09, 0.61, 0.70),
            [
                RetrainReason(
                    "performance",
                    "roc_auc 0.61 is 0.09 below the champion v3's holdout 0.7 (margin 0.05)",
                )
            ],
        ),
        ({"triggers": ["performance"]}, "roc_auc", performance(0.04, 0.66, 0.70), []),
        # A relative margin is of the holdout figure: 5% of 10.0 is 0.5.
        (
            {"triggers": ["performance"], "performance_margin": "5%"},
            "rmse",
            performance(0.8, 10.8, 10.0, "rmse"),
            [
                RetrainReason(
                    "performance",
                    "rmse 10.8 is 0.8 above the champion v3's holdout 10 (margin 0.5)",
                )
            ],
        ),
        (
            {"triggers": ["performance"], "performance_margin": "5%"},
            "rmse",
            performance(0.4, 10.4, 10, "rmse"),
            [],
        ),
        # Unknown (NaN) is never a reason; nor is a partition automation retrains anyway.
        ({"triggers": ["performance"]}, "roc_auc", performance(math.nan, 0.6, 0.7), []),
        (
            {"triggers": ["every_partition", "performance"]},
            "roc_auc",
            performance(0.3, 0.4, 0.7),
            [],
        ),
        # A trigger the policy does not list does not fire.
        ({"triggers": ["drift"]}, "roc_auc", performance(0.3, 0.4, 0.7), []),
    ],
)
def test_performance_reason_follows_the_declared_margin(
    retrain: dict, metric: str, score: LiveScore, expected: list[RetrainReason]
) -> None:
    assert retrain_reasons(policy(**retrain), metric, None, score) == expected


@pytest.mark.parametrize(
    ("policy", "partitions", "requests", "rolls_back", "words"),
    [
        (
            {},
            [("2026-01-05", scored(0.08, 0.62, 0.70))],
            [],
            True,
            "on partitions 2026-01-05 (1500 rows) roc_auc 0.62 is 0.08 below the previous "
            "champion v1's 0.7 (margin 0.02): back to v1",
        ),
        ({}, [("2026-01-05", scored(0.01, 0.69, 0.70))], [], False, "holds"),
        # Two partitions asked for, one scored: not enough to act on.
        (
            {"min_partitions": 2},
            [("2026-01-05", scored(0.08, 0.62, 0.70))],
            [],
            False,
            "not enough evidence",
        ),
        # Unscored previous (NaN) is no evidence.
        ({}, [("2026-01-05", scored(math.nan, 0.62, math.nan))], [], False, "not enough"),
        (
            {"min_requests": 200},
            [],
            [served(0.60, 0.70, 300)],
            True,
            "on 300 labeled served requests roc_auc 0.6 is 0.1 below",
        ),
        ({"min_requests": 200}, [], [served(0.60, 0.70, 150)], False, "not enough evidence"),
        # A relative margin: 10% of the previous champion's 0.70 is 0.07 > 0.05.
        (
            {"margin": "10%"},
            [("2026-01-05", scored(0.05, 0.65, 0.70))],
            [],
            False,
            "(margin 0.07)",
        ),
        ({"enabled": False}, [("2026-01-05", scored(0.3, 0.4, 0.7))], [], False, "disabled"),
    ],
)
def test_rollback_decision_weighs_the_baking_evidence_against_the_margin(
    policy: dict, partitions: list, requests: list, rolls_back: bool, words: str
) -> None:
    decision = rollback_decision(
        Rollback.model_validate(policy), "roc_auc", "2", "1", partitions, requests
    )
    assert decision.rollback is rolls_back
    assert words in decision.reason


def test_lower_is_better_metrics_compare_the_other_way() -> None:
    worse = rollback_decision(Rollback(), "rmse", "2", "1", [], [served(12.0, 10.0, 500, "rmse")])
    better = rollback_decision(Rollback(), "rmse", "2", "1", [], [served(9.0, 10.0, 500, "rmse")])
    assert worse.rollback and "rmse 12 is 2 above the previous champion v1's 10" in worse.reason
    assert not better.rollback
