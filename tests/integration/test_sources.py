"""Each source end to end into raw, against real services on localhost."""

from __future__ import annotations

import gzip
import io
import json
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import redis
import sqlalchemy as sa

from ct_assets.ingest.parsing import check_file, parse_bytes
from ct_assets.names import FILE_DROP, RAW_BATCHES, source_key
from ct_assets.project.load import PROJECT_FILE, read_spec
from ct_assets.project.spec import ProjectSpec
from ct_assets.reads.observe import latest_metadata
from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource
from resources.pulled.base import land_pulled
from resources.pulled.http_api import HttpApiSource
from resources.pulled.redis_stream import RedisStreamSource
from resources.pulled.sql_table import SqlTableSource
from resources.sources import FileDropSource, SourceError
from resources.storage import BatchStore
from tests.conftest import EXAMPLES, REPOSITORY, Deployment
from tests.services import PagedApi

SHOP = read_spec(EXAMPLES / "shop" / PROJECT_FILE, {})
ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE, {})
SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=600, drift_day=100)
COLUMNS = list(SOURCE.day(0).columns)
METERS = MeterSource(start=date(2026, 1, 1), rows_per_day=600, drift_day=100)
METER_COLUMNS = list(METERS.day(0).columns)


def key_of(moment) -> str:
    return moment.date().isoformat()


def land_all(source, store: BatchStore, spec: ProjectSpec = SHOP) -> list[dict]:
    manifests = []
    while (landing := land_pulled(source, store, key_of, spec)) is not None:
        manifests.append(landing.manifest)
    return manifests


def raw_rows(store: BatchStore, source: str) -> pd.DataFrame:
    """Every row of every raw batch of `source`, read back from the raw copies."""
    frames = []
    for manifest_path in sorted((store.raw_root / "batches").glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        if manifest["source"] == source:
            parsed = parse_bytes(Path(manifest["raw_path"]).read_bytes(), manifest["file_name"])
            assert parsed.frame is not None, parsed.failures
            frames.append(parsed.frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


# -- file drop: local and S3 through the same code ---------------------------------------------


def test_an_s3_drop_and_a_local_drop_of_the_same_file_are_the_same_batch(
    tmp_path: Path, s3_endpoint: str
) -> None:
    data = gzip.compress(SOURCE.day(0).to_csv(index=False).encode(), mtime=0)
    local_dir = tmp_path / "landing"
    local_dir.mkdir()
    (local_dir / "events_2026-01-01.csv.gz").write_bytes(data)
    s3 = FileDropSource(url="s3://ct-landing/drops", endpoint_url=s3_endpoint)
    fs, _ = s3._fs()
    fs.mkdir("ct-landing")
    fs.pipe_file("ct-landing/drops/events_2026-01-01.csv.gz", data)
    fs.pipe_file("ct-landing/drops/.events_2026-01-02.csv.gz.tmp", b"half written")

    (remote,) = s3.files()
    (local,) = FileDropSource(url=str(local_dir)).files()
    assert remote.path == "s3://ct-landing/drops/events_2026-01-01.csv.gz"
    assert remote.size == local.size == len(data)

    store = BatchStore(base_dir=str(tmp_path / "data"))
    from_s3, new_from_s3 = store.ingest(s3.delivery(remote), ["2026-01-01"])
    from_disk, new_from_disk = store.ingest(
        FileDropSource(url=str(local_dir)).delivery(local), ["2026-01-01"]
    )
    assert new_from_s3 and not new_from_disk
    assert from_s3["batch_id"] == from_disk["batch_id"]
    assert from_s3["sha256"] == from_disk["sha256"]
    assert from_s3["source_path"].startswith("s3://")
    assert Path(from_s3["raw_path"]).read_bytes() == data
    parsed = parse_bytes(Path(from_s3["raw_path"]).read_bytes(), from_s3["file_name"])
    assert parsed.frame is not None and len(parsed.frame) == 600


def test_an_s3_landing_runs_through_the_sensor_into_raw(
    project: Deployment, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CT_S3_ENDPOINT_URL", s3_endpoint)
    project.reconfigure({"sources": {"landing": "s3://ct-drops/landing"}})
    assert project.project.landing == "s3://ct-drops/landing"
    defs = project.defs
    drop = defs.resources["file_drop"]  # its endpoint is an EnvVar, resolved when used
    fs, _ = FileDropSource(url="s3://ct-drops", endpoint_url=s3_endpoint)._fs()
    fs.mkdir("ct-drops")
    data = SOURCE.day(1).to_csv(index=False).encode()
    fs.pipe_file("ct-drops/landing/2026/events_2026-01-02.csv", data)
    context = dg.build_sensor_context(
        instance=project.instance, definitions=defs, resources={"file_drop": drop}
    )
    result = defs.get_sensor_def("file_drop_sensor").evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == ["2026-01-02"]
    (event,) = result.asset_events
    assert event.asset_key == source_key(FILE_DROP)
    assert event.metadata["files"].value == ["s3://ct-drops/landing/2026/events_2026-01-02.csv"]

    assert project.materialize("2026-01-02", f'key:"{RAW_BATCHES}"').success
    (manifest,) = project.resource("batch_store").batches("2026-01-02")
    assert manifest["source_path"] == "s3://ct-drops/landing/2026/events_2026-01-02.csv"
    assert manifest["rows"] == 600 and manifest["source"] == FILE_DROP
    assert Path(manifest["raw_path"]).read_bytes() == data


# -- SQL table with a watermark ------------------------------------------------------------------


def insert(url: str, table: str, frame: pd.DataFrame) -> None:
    """Insert in one transaction, so every row shares one `ingested_at` (a tie to break)."""
    typed = frame.assign(event_time=pd.to_datetime(frame["event_time"], utc=True))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f'create table if not exists "{table}" (event_id text primary key, '
                "entity_id text, event_time timestamptz, amount double precision, "
                "n_items integer, channel text, country text, account_age_days double precision,"
                " label integer, ingested_at timestamptz not null default now())"
            )
        )
        typed.to_sql(table, conn, if_exists="append", index=False)
    engine.dispose()


def sql_source(url: str, table: str) -> SqlTableSource:
    return SqlTableSource(
        url=url, table=table, key_column="event_id", columns=COLUMNS, batch_rows=250
    )


def test_sql_lands_only_new_rows_and_its_watermark_survives_a_restart(
    tmp_path: Path, postgres_table: tuple[str, str]
) -> None:
    url, table = postgres_table
    insert(url, table, SOURCE.day(0))
    store = BatchStore(base_dir=str(tmp_path / "data"))
    first = land_all(sql_source(url, table), store)
    # 600 rows sharing one watermark, in batches of 250: the key breaks the tie.
    assert [m["rows"] for m in first] == [250, 250, 100]
    assert {p for m in first for p in m["partitions"]} == {"2026-01-01"}

    # A restart: new resource and store objects over the same raw folder.
    restarted = BatchStore(base_dir=str(tmp_path / "data"))
    assert land_all(sql_source(url, table), restarted) == []
    insert(url, table, SOURCE.day(1))
    second = land_all(sql_source(url, table), restarted)
    assert sum(m["rows"] for m in second) == 600
    assert {p for m in second for p in m["partitions"]} == {"2026-01-02"}

    landed = raw_rows(restarted, "sql_table")
    assert len(landed) == 1200 and landed["event_id"].is_unique
    assert list(landed.columns) == COLUMNS


def test_sql_crash_between_landing_and_watermark_lands_nothing_twice(
    tmp_path: Path, postgres_table: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, table = postgres_table
    insert(url, table, SOURCE.day(0))
    store = BatchStore(base_dir=str(tmp_path / "data"))
    commit = BatchStore._commit_progress

    def crash(self, source, progress):
        raise KeyboardInterrupt("killed after the batch was written")

    monkeypatch.setattr(BatchStore, "_commit_progress", crash)
    with pytest.raises(KeyboardInterrupt):
        land_pulled(sql_source(url, table), store, key_of, SHOP)
    monkeypatch.setattr(BatchStore, "_commit_progress", commit)

    land_all(sql_source(url, table), BatchStore(base_dir=str(tmp_path / "data")))
    landed = raw_rows(store, "sql_table")
    assert len(landed) == 600 and landed["event_id"].is_unique


def test_sql_names_a_missing_table_or_column(postgres_table: tuple[str, str]) -> None:
    url, table = postgres_table
    with pytest.raises(SourceError, match=f"table '{table}' not found"):
        sql_source(url, table).pull({})
    insert(url, table, SOURCE.day(0).head(5))
    with pytest.raises(SourceError, match=r"no column\(s\) \['updated'\]"):
        SqlTableSource(
            url=url, table=table, key_column="event_id", watermark_column="updated"
        ).pull({})
    with pytest.raises(SourceError, match=r"no column\(s\) \['serial'\]"):
        SqlTableSource(url=url, table=table, key_column="serial").pull({})


def insert_readings(url: str, table: str, frame: pd.DataFrame) -> None:
    """Meter readings in a table keyed by a serial: the dataset itself has no event id."""
    typed = frame.assign(is_holiday=frame["is_holiday"] == "true")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f'create table if not exists "{table}" (reading_id bigserial primary key, '
                "timestamp bigint, temperature_c double precision, humidity_pct double "
                "precision, wind_kph double precision, is_holiday boolean, weather text, "
                "occupancy integer, load_kwh double precision, "
                "ingested_at timestamptz not null default now())"
            )
        )
        typed.to_sql(table, conn, if_exists="append", index=False)
    engine.dispose()


def test_sql_lands_energy_readings_keyed_by_a_column_outside_the_dataset(
    tmp_path: Path, postgres_table: tuple[str, str]
) -> None:
    url, table = postgres_table
    insert_readings(url, table, METERS.day(0))
    source = SqlTableSource(
        url=url, table=table, key_column="reading_id", columns=METER_COLUMNS, batch_rows=250
    )
    store = BatchStore(base_dir=str(tmp_path / "data"))
    first = land_all(source, store, ENERGY)
    assert [m["rows"] for m in first] == [250, 250, 100]
    # Placed by their epoch times.
    assert {p for m in first for p in m["partitions"]} == {"2026-01-01"}
    insert_readings(url, table, METERS.day(1))
    second = land_all(source, BatchStore(base_dir=str(tmp_path / "data")), ENERGY)
    assert sum(m["rows"] for m in second) == 600
    assert {p for m in second for p in m["partitions"]} == {"2026-01-02"}
    for manifest in [*first, *second]:
        outcome = check_file(Path(manifest["raw_path"]), ENERGY, manifest["file_name"])
        assert outcome.ok and outcome.frame is not None, outcome.reason()
        assert list(outcome.frame.columns) == METER_COLUMNS
    landed = raw_rows(store, "sql_table")
    assert len(landed) == 1200
    assert not landed.duplicated(subset=["timestamp", "load_kwh"]).any()


# -- Redis stream with a consumer group ------------------------------------------------------------


def publish(url: str, stream: str, frame: pd.DataFrame) -> list[str]:
    client = redis.Redis.from_url(url)
    with client.pipeline() as pipe:
        for record in frame.to_dict("records"):
            pipe.xadd(stream, {"event": json.dumps(record)})
        ids = [i.decode() for i in pipe.execute()]
    client.close()
    return ids


def stream_source(url: str, stream: str, consumer: str = "ct-ingest", **kw) -> RedisStreamSource:
    return RedisStreamSource(url=url, stream=stream, consumer=consumer, batch_messages=200, **kw)


def pending(url: str, stream: str) -> int:
    return int(redis.Redis.from_url(url).xpending(stream, "ct")["pending"])


def test_a_redis_consumer_killed_after_reading_loses_and_duplicates_nothing(
    tmp_path: Path, redis_stream: tuple[str, str]
) -> None:
    url, stream = redis_stream
    publish(url, stream, SOURCE.day(0))
    reader = textwrap.dedent(
        f"""
        import sys, time
        from resources.pulled.redis_stream import RedisStreamSource
        source = RedisStreamSource(url={url!r}, stream={stream!r}, batch_messages=200)
        pulled = source.pull({{}})
        print(pulled.rows, flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", reader], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "200"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert pending(url, stream) == 200

    store = BatchStore(base_dir=str(tmp_path / "data"))
    manifests = land_all(stream_source(url, stream), store)
    assert manifests[0]["source_details"]["redelivered"] == 200
    landed = raw_rows(store, "redis_stream")
    assert len(landed) == 600 and landed["event_id"].is_unique
    assert pending(url, stream) == 0


def test_a_dead_consumers_messages_are_reclaimed_by_another(
    tmp_path: Path, redis_stream: tuple[str, str]
) -> None:
    url, stream = redis_stream
    publish(url, stream, SOURCE.day(0).head(150))
    stream_source(url, stream, consumer="ingest-a").pull({})  # reads all, then "dies"
    store = BatchStore(base_dir=str(tmp_path / "data"))
    survivor = stream_source(url, stream, consumer="ingest-b", reclaim_idle_ms=0)
    (manifest,) = land_all(survivor, store)
    assert manifest["rows"] == 150
    assert pending(url, stream) == 0


def test_a_crash_between_landing_and_acknowledging_lands_nothing_twice(
    tmp_path: Path, redis_stream: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, stream = redis_stream
    publish(url, stream, SOURCE.day(0))
    store = BatchStore(base_dir=str(tmp_path / "data"))
    pull = RedisStreamSource.pull

    def pull_then_die_before_ack(self, progress):
        pulled = pull(self, progress)
        if pulled is not None:
            pulled.acknowledge = lambda: (_ for _ in ()).throw(KeyboardInterrupt("killed"))
        return pulled

    monkeypatch.setattr(RedisStreamSource, "pull", pull_then_die_before_ack)
    with pytest.raises(KeyboardInterrupt):
        land_pulled(stream_source(url, stream), store, key_of, SHOP)
    monkeypatch.setattr(RedisStreamSource, "pull", pull)
    assert pending(url, stream) == 200

    land_all(stream_source(url, stream), store)
    landed = raw_rows(store, "redis_stream")
    assert len(landed) == 600 and landed["event_id"].is_unique
    assert pending(url, stream) == 0


# -- paged HTTP API ---------------------------------------------------------------------------


def api_source(url: str, **kw) -> HttpApiSource:
    return HttpApiSource(url=url, page_size=250, backoff_seconds=0.01, **kw)


def test_the_http_api_lands_every_page_once_and_resumes_from_its_cursor(
    tmp_path: Path, paged_api: tuple[str, PagedApi]
) -> None:
    url, api = paged_api
    api.records = SOURCE.day(0).to_dict("records")
    store = BatchStore(base_dir=str(tmp_path / "data"))
    (first,) = land_all(api_source(url), store)
    assert first["rows"] == 600 and first["source_details"]["cursor_to"] == "600"

    api.records += SOURCE.day(1).head(100).to_dict("records")
    (second,) = land_all(api_source(url), BatchStore(base_dir=str(tmp_path / "data")))
    assert second["rows"] == 100 and second["partitions"] == ["2026-01-02"]
    landed = raw_rows(store, "http_api")
    assert len(landed) == 700 and landed["event_id"].is_unique


def test_the_http_api_places_epoch_readings_by_their_own_times(
    tmp_path: Path, paged_api: tuple[str, PagedApi]
) -> None:
    url, api = paged_api
    api.records = [*METERS.day(0).to_dict("records"), *METERS.day(1).head(100).to_dict("records")]
    store = BatchStore(base_dir=str(tmp_path / "data"))
    manifests = land_all(api_source(url), store, ENERGY)
    assert sum(m["rows"] for m in manifests) == 700
    assert {p for m in manifests for p in m["partitions"]} == {"2026-01-01", "2026-01-02"}
    (manifest,) = manifests
    outcome = check_file(Path(manifest["raw_path"]), ENERGY, manifest["file_name"])
    assert outcome.ok and outcome.frame is not None, outcome.reason()
    assert outcome.frame["is_holiday"].dtype == "bool"
    assert len(outcome.frame) == 700


def test_the_http_api_retries_transient_failures_with_backoff(
    tmp_path: Path, paged_api: tuple[str, PagedApi]
) -> None:
    url, api = paged_api
    api.records = SOURCE.day(0).head(10).to_dict("records")
    api.fail_next = 2
    (manifest,) = land_all(api_source(url), BatchStore(base_dir=str(tmp_path / "data")))
    assert manifest["rows"] == 10
    assert api.requests >= 3


def test_an_http_api_that_keeps_failing_gives_a_clear_error_and_moves_nothing(
    tmp_path: Path, paged_api: tuple[str, PagedApi]
) -> None:
    url, api = paged_api
    api.records = SOURCE.day(0).head(10).to_dict("records")
    api.always_fail = True
    store = BatchStore(base_dir=str(tmp_path / "data"))
    with pytest.raises(SourceError) as error:
        land_pulled(api_source(url, retries=2), store, key_of, SHOP)
    message = str(error.value)
    assert url in message and "3 attempts" in message and "503" in message
    assert api.requests == 3
    assert store.source_progress("http_api") == {}

    api.always_fail, api.delay_seconds = False, 1.0
    with pytest.raises(SourceError, match="timed out"):
        land_pulled(api_source(url, retries=0, timeout_seconds=0.2), store, key_of, SHOP)
    assert not (store.raw_root / "batches").exists()


def test_records_outside_every_partition_are_quarantined_not_dropped(
    tmp_path: Path, paged_api: tuple[str, PagedApi]
) -> None:
    url, api = paged_api
    api.records = SOURCE.day(0).head(5).to_dict("records")
    store = BatchStore(base_dir=str(tmp_path / "data"))
    landing = land_pulled(api_source(url), store, lambda moment: None, SHOP)
    assert landing is not None and landing.quarantined
    (record,) = store.all_quarantined()
    assert record["rules"] == ["no_partition"]
    assert record["failures"][0]["column"] == "event_time"
    held = store.quarantine_root / record["batch_id"] / landing.manifest["file_name"]
    assert len(io.BytesIO(held.read_bytes()).readlines()) == 5


# -- the pulled-source sensor on a real Dagster instance ------------------------------------------


@pytest.mark.parametrize("example", ["shop", "energy"])
def test_the_api_sensor_lands_new_records_and_requests_raw_for_their_partitions(
    request: pytest.FixtureRequest,
    paged_api: tuple[str, PagedApi],
    monkeypatch: pytest.MonkeyPatch,
    example: str,
) -> None:
    project: Deployment = request.getfixturevalue("project" if example == "shop" else example)
    url, api = paged_api
    source = SOURCE if example == "shop" else METERS
    api.records = [
        *source.day(0).head(300).to_dict("records"),
        *source.day(1).head(200).to_dict("records"),
    ]
    monkeypatch.setenv("CT_HTTP_URL", url)
    # A pulled source is on when its section is declared.
    project.reconfigure({"sources": {"http_api": {}}})
    assert project.spec.sources.pulled == ("http_api",)
    defs = project.defs
    sensor = defs.get_sensor_def("http_api_sensor")

    def tick(cursor: str | None) -> Any:
        context = dg.build_sensor_context(
            instance=project.instance,
            definitions=defs,
            cursor=cursor,
            resources={k: defs.resources[k] for k in ("http_api", "batch_store")},
        )
        return sensor.evaluate_tick(context)

    first = tick(None)
    assert [r.partition_key for r in first.run_requests] == ["2026-01-01", "2026-01-02"]
    (event,) = first.asset_events
    assert event.asset_key == dg.AssetKey(["sources", "http_api"])
    assert event.metadata["rows"].value == 500
    # The daemon never recorded that tick (it died, or the tick ran past its deadline): the
    # batch landed and the source moved past it, yet the next tick requests its partitions.
    lost = tick(None)
    assert [r.partition_key for r in lost.run_requests] == ["2026-01-01", "2026-01-02"]
    assert lost.asset_events == []  # nothing was landed twice
    # Once a tick is recorded with its cursor, its batches are not taken again.
    assert tick(lost.cursor).run_requests == []

    assert project.materialize("2026-01-02", f'key:"{RAW_BATCHES}"').success
    (manifest,) = project.resource("batch_store").batches("2026-01-02")
    assert manifest["source"] == "http_api" and manifest["rows"] == 500
    raw = latest_metadata(project.instance, RAW_BATCHES, "2026-01-02")
    assert raw is not None and raw["sources"] == "http_api"
