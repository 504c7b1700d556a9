"""Unit tests of sensors/asset_source.py and resources/asset_source.py: what a tick lands and
asks for, from a source whose materializations are given (no Dagster instance).

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from ct_assets.names import Namespace
from ct_assets.project.load import Project, ProjectError
from resources.asset_source import AssetSource, Materialization, asset_source_deps
from resources.pulled.base import Landing
from resources.sources import SourceError
from resources.storage import BatchStore
from sensors.asset_source import (
    build_asset_source_sensors,
    land_new,
    not_defined,
    read_cursor,
    touched,
    write_cursor,
)
from tests.conftest import write_project

DAY = datetime(2026, 1, 2, 9, tzinfo=UTC)


def shop(tmp_path: Path, asset: Any = "etl/orders") -> Project:
    return write_project(tmp_path / "shop", "shop", {"sources": {"asset": asset}})


def orders(day: str, rows: int = 3) -> pd.DataFrame:
    """Rows of the shop's declaration, all on `day`."""
    return pd.DataFrame(
        {
            "event_id": [f"{day}-{i}" for i in range(rows)],
            "entity_id": ["c1"] * rows,
            "event_time": pd.to_datetime([f"{day}T10:00Z"] * rows),
            "amount": [10.0] * rows,
            "n_items": [1] * rows,
            "channel": ["web"] * rows,
            "country": ["US"] * rows,
            "account_age_days": [5.0] * rows,
            "label": [0] * rows,
        }
    )


class GivenSource(AssetSource):
    """An asset whose materializations are given by storage id (partition, value: an
    exception fails to load); `later`: those a later one of their partition replaced."""

    def __init__(
        self, values: dict[int, tuple[str | None, Any]], later: frozenset[int] = frozenset()
    ):
        super().__init__(dg.AssetKey(["etl", "orders"]), None, None)  # type: ignore[arg-type]
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "later", later)

    def after(self, storage_id: int, limit: int) -> tuple[list[Materialization], bool]:
        ids = sorted(i for i in self.values if i > storage_id)
        found = [Materialization(i, f"run{i}", self.values[i][0], DAY) for i in ids[:limit]]
        return found, len(ids) > limit

    def superseded(self, materialization: Materialization) -> bool:
        return materialization.storage_id in self.later

    @contextmanager
    def loader(self) -> Iterator[Callable[[Materialization], Any]]:
        def load(m: Materialization) -> Any:
            value = self.values[m.storage_id][1]
            if isinstance(value, Exception):
                raise SourceError(f"{m.describe(self.name)}: {value}")
            return value

        yield load


def key_of(moment: datetime) -> str | None:
    return moment.date().isoformat() if moment.year == 2026 else None


def test_each_materialization_is_a_batch_with_where_it_came_from(tmp_path: Path) -> None:
    store = BatchStore(base_dir=str(tmp_path / "data"))
    source = GivenSource({4: ("2026-01-02", orders("2026-01-02")), 9: (None, orders("2026-01-03"))})
    tick = land_new(source, store, key_of, shop(tmp_path).spec, after=0)
    assert tick.after == 9 and tick.drained and tick.failure is None
    first, second = (landing.manifest for landing in tick.landings)
    assert first["partitions"] == ["2026-01-02"] and second["partitions"] == ["2026-01-03"]
    assert first["file_name"] == "etl_orders_2026-01-02_4.parquet"
    assert first["source"] == "dagster_asset" and first["rows"] == 3
    assert first["source_path"] == "asset:etl/orders[2026-01-02]#4"
    assert first["source_details"] == {
        "asset_key": "etl/orders",
        "partition": "2026-01-02",
        "storage_id": 4,
        "run_id": "run4",
        "materialized_at": DAY.isoformat(),
    }
    assert second["source_path"] == "asset:etl/orders#9"
    # Read again from the start (a tick done twice): the same batches, nothing new.
    again = land_new(source, store, key_of, shop(tmp_path).spec, after=0)
    assert [landing.is_new for landing in again.landings] == [False, False]
    assert touched(again.landings) == touched(tick.landings)


def test_a_superseded_materialization_is_passed_over_and_a_failing_one_stops_the_tick(
    tmp_path: Path,
) -> None:
    store = BatchStore(base_dir=str(tmp_path / "data"))
    values = {
        3: ("2026-01-02", orders("2026-01-02")),
        5: ("2026-01-03", SourceError("storage is down")),
        7: ("2026-01-04", orders("2026-01-04")),
    }
    tick = land_new(
        GivenSource(values, later=frozenset({3})), store, key_of, shop(tmp_path).spec, 0
    )
    # 3 was replaced by a later materialization of its partition: passed over. 5 cannot be
    # loaded: the tick stops there, to read it again next tick, and 7 waits behind it.
    assert tick.landings == [] and tick.after == 3
    assert not tick.drained and tick.failure is not None and "storage is down" in tick.failure


def test_a_value_that_is_no_table_or_fits_no_partition_is_held_at_once(tmp_path: Path) -> None:
    store = BatchStore(base_dir=str(tmp_path / "data"))
    values = {1: ("2026-01-02", {"rows": 3}), 2: ("2025-05-01", orders("2025-05-01"))}
    tick = land_new(GivenSource(values), store, key_of, shop(tmp_path).spec, 0)
    assert [landing.quarantined for landing in tick.landings] == [True, True]
    assert touched(tick.landings) == {}
    held = {r["file"]: r["rules"] for r in store.all_quarantined()}
    assert held == {
        "etl_orders_2026-01-02_1.txt": ["not_a_table"],
        "etl_orders_2025-05-01_2.parquet": ["no_partition"],
    }


def test_every_placeable_batch_asks_for_its_partitions_run_new_or_not() -> None:
    def landing(batch: str, partitions: list[str], new: bool, held: bool = False) -> Landing:
        return Landing({"batch_id": batch, "partitions": partitions}, new, held)

    landings = [
        landing("b1", ["2026-01-02", "2026-01-03"], True),
        landing("b2", ["2026-01-03"], False),
        landing("b3", [], True, held=True),
    ]
    assert touched(landings) == {"2026-01-02": ["b1"], "2026-01-03": ["b1", "b2"]}


def test_the_cursor_is_how_far_it_read_and_what_waits() -> None:
    assert read_cursor(None) == (0, {})
    written = write_cursor(12, {"2026-01-04": ["b9"]})
    assert json.loads(written) == {"after": 12, "waiting": {"2026-01-04": ["b9"]}}
    assert read_cursor(written) == (12, {"2026-01-04": ["b9"]})


def test_the_sensor_and_the_dependency_follow_the_declaration(tmp_path: Path) -> None:
    plain = write_project(tmp_path / "plain", "shop")
    partitions = dg.DailyPartitionsDefinition(start_date="2026-01-01")
    assert build_asset_source_sensors(plain, partitions) == []
    assert asset_source_deps(plain) == []

    churn = shop(tmp_path, {"key": "etl/orders"}).in_namespace(Namespace.of("churn"))
    # The user's key is theirs: the project's namespace is not added to it.
    assert asset_source_deps(churn) == [dg.AssetKey(["etl", "orders"])]
    (sensor,) = build_asset_source_sensors(churn, partitions)
    assert sensor.name == "churn__dagster_asset_sensor"
    assert sensor.required_resource_keys == {"churn__batch_store"}
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_without_the_asset_the_sensor_names_the_key_and_its_line_in_one_line(
    tmp_path: Path,
) -> None:
    message = not_defined(shop(tmp_path))
    assert message.startswith("sources.asset: no asset etl/orders in this code location")
    assert "ct.yaml line" in message and "\n" not in message


@pytest.mark.parametrize("given", ["etl/orders", {"key": "etl/orders"}])
def test_the_key_alone_or_a_mapping_declare_the_same_source(tmp_path: Path, given: Any) -> None:
    section = shop(tmp_path, given).spec.sources.asset
    assert section is not None and section.path == ["etl", "orders"]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("etl orders", r"sources\.asset\.key: 'etl orders' is not an asset key: parts of"),
        ("etl//orders", r"sources\.asset\.key: 'etl//orders' is not an asset key"),
        (5, r"sources\.asset: .*expected an asset key \(etl/orders\) or a mapping with key"),
        ({"kee": "orders"}, r"sources\.asset\.kee: unknown key \(did you mean 'key'\?\)"),
    ],
)
def test_a_declaration_that_is_no_asset_key_is_refused_naming_its_line(
    tmp_path: Path, given: Any, said: str
) -> None:
    with pytest.raises(ProjectError, match=rf"ct\.yaml line \d+: {said}"):
        shop(tmp_path, given)
