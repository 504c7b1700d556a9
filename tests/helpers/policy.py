"""Helpers shared by several test files, unit and integration:
the ones tests/test_policy.py held."""

from __future__ import annotations

from typing import Any

from ct_assets.ml.records import LiveScore
from ct_assets.project.spec import Policy


def policy(**retrain: Any) -> Policy:
    return Policy.model_validate({"retrain": retrain})


def performance(worse: float, live: float, baseline: float, metric: str = "roc_auc") -> LiveScore:
    return LiveScore(
        metric=metric,
        rows=1500,
        champion_version="3",
        champion=live,
        baseline=baseline,
        worse_than_baseline_by=worse,
    )
