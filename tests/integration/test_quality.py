"""Data-quality dimensions: the pure measures, and the checks on a real instance."""

from __future__ import annotations

from ct_assets.names import (
    FEATURES,
    PRODUCTION_MODEL,
    SCHEMA_CHECK,
    VALIDATED_BATCHES,
    quality_check_name,
)
from ct_assets.reads.observe import latest_check_passed, latest_metadata
from tests.conftest import Deployment


def check(project: Deployment, name: str, partition: str) -> bool | None:
    return latest_check_passed(project.instance, VALIDATED_BATCHES, name, partition)


def test_duplicate_keys_across_batches_block_the_partition(project: Deployment) -> None:
    day = project.source.day(0)
    project.drop_day(0, day.head(800))
    project.drop_day(0, day.iloc[700:], name=f"overlap_{project.partition(0)}.csv")
    partition = project.partition(0)
    assert not project.materialize(partition).success
    assert latest_check_passed(project.instance, VALIDATED_BATCHES, SCHEMA_CHECK, partition)
    assert check(project, quality_check_name("uniqueness"), partition) is False
    assert latest_metadata(project.instance, FEATURES, partition) is None


def test_a_thin_day_warns_on_volume_but_proceeds(project: Deployment) -> None:
    for index in range(2):
        project.drop_day(index)
        assert project.materialize(project.partition(index)).success
    project.drop_day(2, project.source.day(2).head(300))
    partition = project.partition(2)
    assert project.materialize(partition).success
    assert check(project, quality_check_name("volume"), partition) is False
    assert latest_metadata(project.instance, PRODUCTION_MODEL, partition) is not None


def test_a_stuck_label_blocks_an_energy_partition(energy: Deployment) -> None:
    partition = energy.partition(0)
    energy.drop_day(0, energy.source.day(0).assign(load_kwh=42.0))
    assert not energy.materialize(partition).success
    assert check(energy, SCHEMA_CHECK, partition)
    assert check(energy, quality_check_name("label_spread"), partition) is False
    assert latest_metadata(energy.instance, FEATURES, partition) is None
