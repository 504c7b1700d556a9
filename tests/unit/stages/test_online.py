"""Unit tests of ct_assets/stages/online.py: the online store is fed only where an entity has
history to serve. Builds definitions only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ct_assets.names import FEATURES, ONLINE_FEATURES
from ct_assets.partitions import build_partitions
from ct_assets.stages.online import build_online_features
from tests.conftest import write_project


def test_online_features_exist_with_an_entity_and_not_without(tmp_path: Path) -> None:
    shop = write_project(tmp_path / "shop")
    [asset] = build_online_features(shop, build_partitions(shop.spec))
    assert asset.asset_deps[dg.AssetKey(ONLINE_FEATURES)] == {dg.AssetKey(FEATURES)}
    energy = write_project(tmp_path / "energy", example="energy")
    assert energy.spec.dataset.entity is None
    assert build_online_features(energy, build_partitions(energy.spec)) == []
