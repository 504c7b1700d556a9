"""Unit tests of ct_assets/ml/quality.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ct_assets.ingest.parsing import check_file
from ct_assets.ml.features import with_row_ids
from ct_assets.ml.frames import BATCH, ROW_ID
from ct_assets.ml.quality import label_balance, measure_quality
from ct_assets.project.load import PROJECT_FILE, load_project, read_spec
from ct_assets.project.spec import ProjectSpec, Quality
from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource, write_atomically
from tests.conftest import EXAMPLES

SHOP = read_spec(EXAMPLES / "shop" / PROJECT_FILE, {})


ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE, {})


def validated(spec: ProjectSpec, frame: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """A day as the validated stage holds it: typed, with its batch and row ids."""
    outcome = check_file(write_atomically(frame, folder / "day.csv"), spec)
    assert outcome.frame is not None, outcome.reason()
    return with_row_ids(outcome.frame, "b-quality", spec)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    source = DriftingSource(start=date(2026, 1, 1), rows_per_day=400)
    return validated(SHOP, source.day(0), tmp_path_factory.mktemp("q"))


@pytest.fixture(scope="module")
def readings(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=400)
    return validated(ENERGY, source.day(0), tmp_path_factory.mktemp("q"))


def by_name(results):
    return {r.name: r for r in results}


def test_validated_events_carry_their_batch_and_row_ids(events: pd.DataFrame) -> None:
    assert list(events.columns) == [*SHOP.dataset.columns, BATCH, ROW_ID]
    assert events[ROW_ID].tolist() == events["event_id"].tolist()
    assert (events[BATCH] == "b-quality").all()


def test_a_normal_day_passes_every_dimension(events: pd.DataFrame) -> None:
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    results = by_name(measure_quality(events, 0, arrived, [390, 410, 405], SHOP))
    assert list(results) == list(SHOP.dimensions)
    assert all(r.passed for r in results.values()), {n: r.summary for n, r in results.items()}
    assert results["volume"].measured["trailing_median"] == 405
    assert results["completeness"].measured["null_rate.amount"] == 0.0
    assert f"null_rate.{BATCH}" not in results["completeness"].measured
    assert f"null_rate.{ROW_ID}" not in results["completeness"].measured
    assert 0 < results["label_balance"].measured["positive_rate"] < 1


def test_a_normal_energy_day_passes_every_dimension(readings: pd.DataFrame) -> None:
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    results = by_name(measure_quality(readings, 0, arrived, [390, 410, 405], ENERGY))
    # A regression task ends in the label's spread, not a class balance.
    assert list(results) == list(ENERGY.dimensions)
    assert list(results)[-1] == "label_spread" and "label_balance" not in results
    assert all(r.passed for r in results.values()), {n: r.summary for n, r in results.items()}
    assert results["volume"].measured["trailing_median"] == 405
    assert results["completeness"].measured["null_rate.load_kwh"] == 0.0
    assert results["label_spread"].measured["distinct_labels"] > 1
    assert results["label_spread"].measured["label_std"] > 0


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
    results = by_name(measure_quality(mutate(events), 0, arrived, [], SHOP))
    failed = {n for n, r in results.items() if not r.passed}
    assert failed == {dimension}


@pytest.mark.parametrize(
    ("dimension", "mutate"),
    [
        ("uniqueness", lambda e: pd.concat([e, e.head(3)], ignore_index=True)),
        ("label_spread", lambda e: e.assign(load_kwh=42.0)),
        ("completeness", lambda e: e.assign(wind_kph=e["wind_kph"].where(e.index % 10 != 0))),
    ],
)
def test_each_energy_dimension_fails_on_its_own_problem(
    readings: pd.DataFrame, dimension, mutate
) -> None:
    # Without the sensor drop-outs, so that only the mutated dimension can fail (the nulls of
    # a normal day are the test above).
    readings = readings.assign(humidity_pct=readings["humidity_pct"].fillna(70.0))
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    results = by_name(measure_quality(mutate(readings), 0, arrived, [], ENERGY))
    failed = {n for n, r in results.items() if not r.passed}
    assert failed == {dimension}


def test_uniqueness_counts_duplicate_row_ids(events: pd.DataFrame) -> None:
    twice = pd.concat([events, events.head(3)], ignore_index=True)
    (result,) = [
        r for r in measure_quality(twice, 0, datetime.now(UTC), [], SHOP) if r.name == "uniqueness"
    ]
    assert result.measured["duplicate_keys"] == 3
    assert "event_id" in result.summary


@pytest.mark.parametrize("spec", [SHOP, ENERGY], ids=["shop", "energy"])
def test_volume_validity_and_timeliness_thresholds(
    events: pd.DataFrame, readings: pd.DataFrame, spec: ProjectSpec
) -> None:
    day = events if spec is SHOP else readings
    late = datetime(2026, 1, 5, tzinfo=UTC)
    results = by_name(measure_quality(day, 100, late, [2000, 2100], spec))
    assert not results["volume"].passed and results["volume"].measured["ratio"] < 0.5
    assert not results["validity"].passed and results["validity"].measured["refused_rows"] == 100
    assert not results["timeliness"].passed and results["timeliness"].measured["lag_hours"] > 48
    early = datetime(2026, 1, 1, 12, tzinfo=UTC)
    timely = by_name(measure_quality(day, 0, early, [], spec))["timeliness"]
    assert not timely.passed and timely.measured["future_events"] > 0


def test_validity_counts_rows_set_aside_as_not_valid(events: pd.DataFrame) -> None:
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    few = by_name(measure_quality(events, 0, arrived, [], SHOP, set_aside_rows=2))["validity"]
    assert few.passed and few.measured["set_aside_rows"] == 2
    assert few.measured["valid_row_share"] == round(400 / 402, 4)
    assert "2 set aside, 0 in refused batches" in few.summary
    # Set aside or refused, a row not valid is not valid: both count against the share.
    many = by_name(measure_quality(events, 10, arrived, [], SHOP, set_aside_rows=20))["validity"]
    assert not many.passed and many.measured["valid_row_share"] == round(400 / 430, 4)


def test_thresholds_come_from_the_declared_quality_section(events: pd.DataFrame) -> None:
    late = datetime(2026, 1, 5, tzinfo=UTC)
    patient = SHOP.model_copy(
        update={"quality": SHOP.quality.model_copy(update={"max_lag_hours": 96.0})}
    )
    assert by_name(measure_quality(events, 0, late, [], patient))["timeliness"].passed
    assert not by_name(measure_quality(events, 0, late, [], SHOP))["timeliness"].passed


@pytest.mark.parametrize("spec", [SHOP, ENERGY], ids=["shop", "energy"])
def test_an_empty_partition_fails_every_dimension(
    events: pd.DataFrame, readings: pd.DataFrame, spec: ProjectSpec
) -> None:
    day = events if spec is SHOP else readings
    results = measure_quality(day.head(0), 0, datetime.now(UTC), [], spec)
    assert [r.name for r in results] == list(spec.dimensions)
    assert not any(r.passed for r in results)


# At ct's default bounds (2%-98%): the shop's own ct.yaml declares a higher floor.
DEFAULT_RATES = SHOP.model_copy(update={"quality": Quality()})


def balance_of(positives: int, rows: int, spec: ProjectSpec = DEFAULT_RATES):
    return label_balance(pd.Series([1] * positives + [0] * (rows - positives)), spec)


def test_label_balance_judges_the_count_of_positives_for_the_rows_it_has() -> None:
    # No positive in 100 rows is a 13% chance at the 2% floor: plausible; in 400 rows, 0.031%.
    assert balance_of(0, 100).passed
    none = balance_of(0, 400)
    assert not none.passed and none.key == ("quality", "min_positive_rate")
    assert none.summary == (
        "label 'label': 0 of 400 rows are '1' (0%): about 8 expected at the minimum positive "
        "rate 2%, and 0 or fewer has a 0.031% chance (implausible under 0.1%)"
    )
    # A share under the floor is not a failure by itself: 170 in 10,000 (1.7%) has a 1.6%
    # chance at 2%; 150 (1.5%) a 0.011% chance.
    assert balance_of(170, 10_000).passed
    assert not balance_of(150, 10_000).passed
    assert balance_of(150, 10_000).measured["chance_below_min"] == pytest.approx(0.000115, 0.01)
    # The other tail: too many positives for the 98% ceiling.
    many = balance_of(9_995, 10_000)
    assert not many.passed and many.key == ("quality", "max_positive_rate")
    assert balance_of(98, 100).passed


def test_a_failed_dimension_names_the_line_of_ct_yaml_holding_its_threshold(
    events: pd.DataFrame,
) -> None:
    project = load_project(EXAMPLES / "shop", {})
    arrived = datetime(2026, 1, 2, 6, tzinfo=UTC)
    results = measure_quality(events.assign(label=0), 0, arrived, [], SHOP, locate=project.locate)
    balance = by_name(results)["label_balance"]
    line = project.text.splitlines().index("  min_positive_rate: 0.05") + 1
    assert not balance.passed
    assert balance.summary.startswith("label 'label': 0 of 400 rows are '1' (0%): about 20 ")
    assert balance.summary.endswith(f"(declared at ct.yaml line {line}: quality.min_positive_rate)")
    late = by_name(
        measure_quality(
            events, 0, datetime(2026, 1, 5, tzinfo=UTC), [], SHOP, locate=project.locate
        )
    )["timeliness"]
    assert not late.passed and late.summary.endswith("(default: quality.max_lag_hours)")
    # A dimension that passes keeps its summary short.
    assert "declared" not in by_name(results)["completeness"].summary
