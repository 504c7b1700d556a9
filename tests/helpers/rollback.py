"""Helpers shared by several test files, unit and integration:
the ones tests/test_rollback.py held."""

from __future__ import annotations

from typing import Any

from ct_assets.ml.records import LiveScore


def scored(
    worse: float, mine: float, theirs: float, champion: str = "2", rows: int = 1500
) -> LiveScore:
    return LiveScore(
        metric="roc_auc",
        rows=rows,
        champion_version=champion,
        previous_version="1",
        baking=True,
        champion=mine,
        previous=theirs,
        baseline=0.72,
        worse_than_baseline_by=0.72 - mine,
        worse_than_previous_by=worse,
    )


def served(mine: float, theirs: float, rows: int, metric: str = "roc_auc") -> dict[str, Any]:
    return {"2": {"rows": rows, metric: mine}, "1": {"rows": rows, metric: theirs}}
