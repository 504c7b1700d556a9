"""A Dagster asset of the user's own as ct's source (`sources.asset`), on a real instance: the
user's assets materialized by real runs through their own IO managers, the sensor's ticks
evaluated against the code location, and raw and validated materialized from what it landed."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from ct_assets.definitions import build_definitions
from ct_assets.names import RAW_BATCHES, SCHEMA_CHECK, VALIDATED_BATCHES, Namespace
from examples.shop.generator import DriftingSource
from resources.asset_source import asset_source_deps
from resources.storage import BatchStore
from tests.conftest import START, Deployment, deploy

ORDERS = dg.AssetKey(["etl", "orders"])
SNAPSHOT = dg.AssetKey("snapshot")
DAILY = dg.DailyPartitionsDefinition(start_date=START.isoformat())
SOURCE = DriftingSource(start=START, rows_per_day=300, drift_day=100)
# Days the user's asset hands over something ct must refuse, and what.
BROKEN: dict[int, Any] = {}


class UserParquet(dg.ConfigurableIOManager):
    """The user's own IO manager: a Parquet file per asset partition in their own folder."""

    base_dir: str

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        parts = list(context.asset_key.path)
        if context.has_asset_partitions:
            parts.append(context.asset_partition_key)
        return Path(self.base_dir, *parts).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, pd.DataFrame):
            obj.to_parquet(path)
        else:  # what a careless asset returns, kept as JSON to be loaded back as it was
            path.write_text(json.dumps(obj))

    def load_input(self, context: dg.InputContext) -> Any:
        path = self._path(context)
        if path.read_bytes().startswith(b"PAR1"):
            return pd.read_parquet(path)
        return json.loads(path.read_text())


@dg.asset(key=ORDERS, partitions_def=DAILY, io_manager_key="user_parquet")
def orders(context: dg.AssetExecutionContext) -> Any:  # a frame, or what a broken day gives
    day = DAILY.get_partition_keys().index(context.partition_key)
    return BROKEN.get(day, SOURCE.day(day))


class Day(dg.Config):
    day: int = 0


@dg.asset(key=SNAPSHOT, io_manager_key="user_pickle")
def snapshot(config: Day) -> pd.DataFrame:
    return SOURCE.day(config.day)


def code_location(
    project: Deployment, tmp_path: Path, *user_assets: Any, namespace: Namespace | None = None
) -> dg.Definitions:
    """ct's definitions (under `namespace`, if any), with `raw_batches` depending on the
    declared asset and its sensor, beside the user's assets in one code location."""
    if namespace is not None:
        project.project = project.project.in_namespace(namespace)
    ct = build_definitions(project.project)
    raw = ct.resolve_asset_graph().get(project.project.namespace.key(RAW_BATCHES))
    assert set(asset_source_deps(project.project)) <= raw.parent_keys
    assert any(s.name.endswith("dagster_asset_sensor") for s in ct.sensors or [])
    user = dg.Definitions(
        assets=list(user_assets),
        resources={
            "user_parquet": UserParquet(base_dir=str(tmp_path / "user")),
            "user_pickle": dg.FilesystemIOManager(base_dir=str(tmp_path / "user_pickle")),
        },
    )
    project.defs = dg.Definitions.merge(ct, user)
    return project.defs


def store_of(project: Deployment) -> BatchStore:
    store: BatchStore = project.resource(project.project.namespace.name("batch_store"))
    return store


def tick(project: Deployment, cursor: str | None) -> Any:
    name = project.project.namespace.name
    context = dg.build_sensor_context(
        instance=project.instance,
        definitions=project.defs,
        cursor=cursor,
        resources={name("batch_store"): store_of(project)},
    )
    return project.defs.get_sensor_def(name("dagster_asset_sensor")).evaluate_tick(context)


def materialize_user(project: Deployment, asset: Any, **kwargs: Any) -> dg.EventLogRecord:
    """A real run of the user's asset; its materialization record."""
    result = dg.materialize(
        [asset],
        instance=project.instance,
        resources={k: project.defs.resources[k] for k in ("user_parquet", "user_pickle")},
        **kwargs,
    )
    assert result.success
    found = project.instance.fetch_materializations(asset.key, limit=1)
    return found.records[0]


def asset_batches(store: BatchStore) -> list[dict[str, Any]]:
    manifests = [store.find_batch(p.name) for p in (store.raw_root / "batches").iterdir()]
    found = [m for m in manifests if m is not None and m["source"] == "dagster_asset"]
    return sorted(found, key=lambda m: m["source_details"]["storage_id"])


@pytest.fixture
def shop(tmp_path: Path, dagster_instance: dg.DagsterInstance) -> Deployment:
    BROKEN.clear()
    return deploy(tmp_path, dagster_instance, "shop", {"sources": {"asset": "etl/orders"}})


def test_each_materialization_of_a_partitioned_user_asset_lands_once_as_a_batch(
    shop: Deployment, tmp_path: Path
) -> None:
    defs = code_location(shop, tmp_path, orders)
    raw = dg.AssetKey(RAW_BATCHES)
    # The lineage runs from the user's asset through ct's.
    assert ORDERS in defs.resolve_asset_graph().get(raw).parent_keys
    days = [shop.partition(0), shop.partition(1)]
    records = [materialize_user(shop, orders, partition_key=day) for day in days]

    first = tick(shop, None)
    assert [r.partition_key for r in first.run_requests] == days
    assert all(r.asset_selection == [raw] for r in first.run_requests)
    store = store_of(shop)
    landed = asset_batches(store)
    assert [m["partitions"] for m in landed] == [[days[0]], [days[1]]]
    assert [m["rows"] for m in landed] == [300, 300]
    for manifest, record in zip(landed, records, strict=True):
        assert manifest["source_details"] == {
            "asset_key": "etl/orders",
            "partition": record.partition_key,
            "storage_id": record.storage_id,
            "run_id": record.run_id,
            "materialized_at": manifest["arrived_at"],
        }

    # Recorded, the tick is not done again: nothing new.
    assert tick(shop, first.cursor).run_requests == []
    # Not recorded (the tick died), it is done again: no batch twice, the same run keys, which
    # Dagster launches once.
    again = tick(shop, None)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]
    assert len(asset_batches(store)) == 2
    # The same partition materialized again, unchanged: the same batch, the same run key.
    materialize_user(shop, orders, partition_key=days[1])
    rerun = tick(shop, first.cursor)
    assert [r.run_key for r in rerun.run_requests] == [first.run_requests[1].run_key]
    assert len(asset_batches(store)) == 2

    assert shop.materialize(days[0], f'key:"{RAW_BATCHES}"').success
    (manifest,) = store.batches(days[0])
    assert manifest["source"] == "dagster_asset" and manifest["rows"] == 300


def test_a_user_frame_of_the_wrong_type_is_quarantined_with_its_reason(
    shop: Deployment, tmp_path: Path
) -> None:
    code_location(shop, tmp_path, orders)
    day = shop.partition(2)
    wrong = SOURCE.day(2).assign(n_items="several")
    BROKEN[2] = wrong
    BROKEN[3] = ["not", "a", "table"]
    materialize_user(shop, orders, partition_key=day)
    materialize_user(shop, orders, partition_key=shop.partition(3))

    result = tick(shop, None)
    # The wrong type is judged as any delivery is, when validated; what is no table at all
    # cannot be, and is held at once, indexed under no partition.
    assert [r.partition_key for r in result.run_requests] == [day]
    store = store_of(shop)
    (refused_now,) = store.all_quarantined()
    assert refused_now["rules"] == ["not_a_table"]
    assert "a list, not a table" in refused_now["reason"]

    # The day's only batch refused: validated fails its schema check, as for a dropped file.
    ingest = shop.materialize(day, f'key:"{RAW_BATCHES}" or key:"{VALIDATED_BATCHES}"')
    checks = {e.check_name: e.passed for e in ingest.get_asset_check_evaluations()}
    assert checks[SCHEMA_CHECK] is False and not ingest.success
    (held,) = store.quarantined(day)
    assert held["kind"] == "refused" and held["rules"] == ["wrong_type"]
    assert "n_items" in held["reason"]


def test_an_unpartitioned_user_asset_delivers_its_latest_value_per_tick(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    shop = deploy(tmp_path, dagster_instance, "shop", {"sources": {"asset": "snapshot"}})
    code_location(shop, tmp_path, snapshot)

    def run(day: int) -> dg.EventLogRecord:
        config = dg.RunConfig(ops={"snapshot": Day(day=day)})
        return materialize_user(shop, snapshot, run_config=config)

    run(0)
    first = tick(shop, None)
    assert [r.partition_key for r in first.run_requests] == [shop.partition(0)]
    # Stored by the pickling IO manager, one value for the asset: the second value replaced
    # the first before any tick read it, so the latest delivers, with its own provenance.
    run(1)
    latest = run(2)
    second = tick(shop, first.cursor)
    assert [r.partition_key for r in second.run_requests] == [shop.partition(2)]
    landed = asset_batches(store_of(shop))
    assert [m["source_details"]["storage_id"] for m in landed][-1] == latest.storage_id
    assert len(landed) == 2 and landed[-1]["source_details"]["partition"] is None


def test_without_the_asset_in_the_code_location_the_sensor_says_so_in_one_line(
    shop: Deployment, tmp_path: Path
) -> None:
    code_location(shop, tmp_path)  # the user's asset is not there
    result = tick(shop, None)
    assert result.run_requests == []
    assert result.skip_message.startswith("sources.asset: no asset etl/orders in this code")
    assert "ct.yaml line" in result.skip_message and "\n" not in result.skip_message


def test_in_a_shared_deployment_the_asset_feeds_its_project_s_own_raw_batches(
    shop: Deployment, tmp_path: Path
) -> None:
    defs = code_location(shop, tmp_path, orders, namespace=Namespace.of("churn"))
    raw = dg.AssetKey(["churn", RAW_BATCHES])
    # The user's key stays theirs; ct's are under the project's name.
    assert ORDERS in defs.resolve_asset_graph().get(raw).parent_keys
    day = shop.partition(0)
    materialize_user(shop, orders, partition_key=day)
    (request,) = tick(shop, None).run_requests
    assert request.asset_selection == [raw] and request.partition_key == day
    assert request.tags["ct/project"] == "churn"
    assert shop.materialize(day, 'key:"churn/raw_batches"').success
    assert [m["source"] for m in store_of(shop).batches(day)] == ["dagster_asset"]
