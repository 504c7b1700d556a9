"""Unit tests of sensors/automation.py: two automation sensors over disjoint selections, the
training one tagging its runs so the production queue can limit them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ct_assets.names import CANDIDATE_MODELS, RAW_BATCHES, RUN_KIND_TAG, TRAINING_RUNS
from sensors.automation import build_automation_sensors


def test_training_runs_are_tagged_and_everything_else_is_evaluated_apart(tmp_path: Path) -> None:
    from ct_assets.definitions import build_definitions
    from tests.conftest import write_project

    defs = build_definitions(write_project(tmp_path / "p"))
    graph = defs.resolve_asset_graph()
    general, training = build_automation_sensors(30)
    assert general.default_status == training.default_status == dg.DefaultSensorStatus.RUNNING
    assert training.run_tags == {RUN_KIND_TAG: TRAINING_RUNS}
    assert not general.run_tags
    general_keys = general.asset_selection.resolve(graph)
    training_keys = training.asset_selection.resolve(graph)
    assert dg.AssetKey(CANDIDATE_MODELS) in training_keys
    assert dg.AssetKey(RAW_BATCHES) in general_keys
    assert not general_keys & training_keys
