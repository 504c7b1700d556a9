"""Unit tests of ct_assets/stages/splits.py: how the training window asset is wired from the
declaration (what it reads, when automation runs it). Builds definitions only: no instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ct_assets.names import CHAMPION_PERFORMANCE, FEATURES, TRAINING_WINDOW
from ct_assets.partitions import build_partitions
from ct_assets.stages.splits import build_splits
from tests.conftest import write_project


def training_window(tmp_path: Path, **changes: object) -> dg.AssetsDefinition:
    project = write_project(tmp_path / "p", changes=changes)
    [asset] = build_splits(project, build_partitions(project.spec))
    return asset


def test_the_window_reads_the_declared_number_of_feature_partitions_after_the_champion_s_score(
    tmp_path: Path,
) -> None:
    asset = training_window(tmp_path, training={"window": 5})
    key = dg.AssetKey(TRAINING_WINDOW)
    assert asset.keys == {key}
    assert asset.asset_deps[key] == {dg.AssetKey(FEATURES), dg.AssetKey(CHAMPION_PERFORMANCE)}
    mapping = asset.get_partition_mapping_for_dep(dg.AssetKey(FEATURES))
    assert isinstance(mapping, dg.TimeWindowPartitionMapping)
    assert (mapping.start_offset, mapping.end_offset) == (-4, 0)


def test_automation_runs_it_only_when_every_partition_is_retrained(tmp_path: Path) -> None:
    every = training_window(tmp_path / "a", policy={"retrain": {"triggers": ["every_partition"]}})
    assert every.automation_conditions_by_key[dg.AssetKey(TRAINING_WINDOW)] is not None
    on_drift = training_window(tmp_path / "b", policy={"retrain": {"triggers": ["drift"]}})
    assert on_drift.automation_conditions_by_key.get(dg.AssetKey(TRAINING_WINDOW)) is None
