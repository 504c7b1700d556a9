"""Unit tests of ct_assets/stages/scoring.py: batch predictions wait for the decision when every
partition is retrained, for the champion's own score otherwise. Builds definitions only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ct_assets.names import BATCH_PREDICTIONS, CHAMPION_PERFORMANCE, FEATURES, PRODUCTION_MODEL
from ct_assets.partitions import build_partitions
from ct_assets.stages.scoring import build_scoring
from tests.conftest import write_project


def deps(tmp_path: Path, triggers: list[str]) -> set[dg.AssetKey]:
    project = write_project(tmp_path, changes={"policy": {"retrain": {"triggers": triggers}}})
    [asset] = build_scoring(project, build_partitions(project.spec))
    return asset.asset_deps[dg.AssetKey(BATCH_PREDICTIONS)]


def test_scoring_follows_the_decision_or_the_champion_s_score(tmp_path: Path) -> None:
    every = deps(tmp_path / "a", ["every_partition"])
    assert every == {dg.AssetKey(FEATURES), dg.AssetKey(PRODUCTION_MODEL)}
    # A decision may never come when retrains are asked for: the champion's score always does.
    on_drift = deps(tmp_path / "b", ["drift"])
    assert on_drift == {dg.AssetKey(FEATURES), dg.AssetKey(CHAMPION_PERFORMANCE)}
