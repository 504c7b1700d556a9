"""Data-quality dimensions: the pure measures, and the checks on a real instance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from ct_assets.ml.datagen import DriftingSource, write_atomically
from ct_assets.ingest.parsing import check_file
from ct_assets.ml.quality import QualityThresholds, measure_quality
from ct_assets.observe import latest_check_passed, latest_metadata
from tests.conftest import Project

T = QualityThresholds()


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=400)
    path = write_atomically(source.day(0), tmp_path_factory.mktemp("q") / "day.csv")
    frame = check_file(path).frame
    assert frame is not None
    return frame


def check(project: Project, name: str, partition: str) -> bool | None:
    return latest_check_passed(project.instance, "validated_batches", name, partition)


def by_name(results):
    return {r.name: r for r in results}


def test_a_normal_day_passes_every_dimension(events: pd.DataFrame) -> None:
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    results = by_name(measure_quality(events, 0, arrived, [390, 410, 405], T))
    assert all(r.passed for r in results.values()), {n: r.summary for n, r in results.items()}
    assert results["volume"].measured["trailing_median"] == 405
    assert results["completeness"].measured["null_rate.amount"] == 0.0
    assert 0 < results["label_balance"].measured["positive_rate"] < 1


@pytest.mark.parametrize(
    ("dimension", "mutate"),
    [
        ("uniqueness", lambda e: pd.concat([e, e.head(3)], ignore_index=True)),
        ("label_balance", lambda e: e.assign(label=0)),
        ("completeness", lambda e: e.assign(amount=e["amount"].where(e.index % 10 != 0))),
    ],
)
def test_each_dimension_fails_on_its_own_problem(events: pd.DataFrame, dimension, mutate) -> None:
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    results = by_name(measure_quality(mutate(events), 0, arrived, [], T))
    failed = {n for n, r in results.items() if not r.passed}
    assert failed == {dimension}


def test_volume_validity_and_timeliness_thresholds(events: pd.DataFrame) -> None:
    late = datetime(2026, 1, 5, tzinfo=UTC)
    results = by_name(measure_quality(events, 100, late, [2000, 2100], T))
    assert not results["volume"].passed and results["volume"].measured["ratio"] < 0.5
    assert not results["validity"].passed and results["validity"].measured["refused_rows"] == 100
    assert not results["timeliness"].passed and results["timeliness"].measured["lag_hours"] > 48
    early = datetime(2026, 1, 1, 12, tzinfo=UTC)
    timely = by_name(measure_quality(events, 0, early, [], T))["timeliness"]
    assert not timely.passed and timely.measured["future_events"] > 0


def test_an_empty_partition_fails_every_dimension(events: pd.DataFrame) -> None:
    results = measure_quality(events.head(0), 0, datetime.now(UTC), [], T)
    assert not any(r.passed for r in results)


def test_duplicate_keys_across_batches_block_the_partition(project: Project) -> None:
    day = project.source.day(0)
    project.drop_day(0, day.head(800))
    project.drop_day(0, day.iloc[700:], name=f"overlap_{project.partition(0)}.csv")
    partition = project.partition(0)
    assert not project.materialize(partition).success
    assert latest_check_passed(
        project.instance, "validated_batches", "events_match_schema", partition
    )
    assert (
        latest_check_passed(project.instance, "validated_batches", "quality_uniqueness", partition)
        is False
    )
    assert latest_metadata(project.instance, "features", partition) is None


def test_a_thin_day_warns_on_volume_but_proceeds(project: Project) -> None:
    for index in range(2):
        project.drop_day(index)
        assert project.materialize(project.partition(index)).success
    project.drop_day(2, project.source.day(2).head(300))
    partition = project.partition(2)
    assert project.materialize(partition).success
    assert (
        latest_check_passed(project.instance, "validated_batches", "quality_volume", partition)
        is False
    )
    assert latest_metadata(project.instance, "production_model", partition) is not None
