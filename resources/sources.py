"""Sources new data arrives from, each a resource: a file drop (local or S3), a SQL table with a
watermark, a Redis stream with a consumer group, and a paged JSON HTTP API.

The file drop is read by the `raw_batches` asset itself. The other three are pulled: a sensor
calls `land_pulled`, which lands what the source has beyond its recorded progress as one raw
batch and only then advances the progress (and acknowledges stream messages).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import dagster as dg
import fsspec
import pandas as pd
import redis
import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ct_assets.ingest.landing import LandedFile, in_folders, is_ready, partitions_of_bytes
from ct_assets.ml.schema import SchemaFailure, ValidationOutcome
from ct_assets.names import FILE_DROP
from ct_assets.project.spec import ProjectSpec
from resources.storage import BatchStore, Delivery


class SourceError(Exception):
    """A source cannot be read; the message names the source, the endpoint and why."""


class FileDropSource(dg.ConfigurableResource):
    """A landing folder producers drop CSV, Parquet or JSON Lines (optionally gzip) into.

    `url` is a local folder or `s3://bucket/prefix`; both are read through fsspec, so the same
    code path serves both. S3 credentials come from the usual AWS_* environment variables.
    """

    url: str
    endpoint_url: str | None = None
    # Folders of the landing folder that are not data (delayed labels), relative to `url`.
    skip_folders: list[str] = []

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        options: dict[str, Any] = {}
        if self.url.startswith("s3://"):
            # Listings are re-read every time: a cached listing would hide new drops. The
            # filesystem itself is fsspec's cached instance: a new S3 client per file read
            # cost ~0.2 s of CPU each.
            options = {"use_listings_cache": False}
            if self.endpoint_url:
                options["endpoint_url"] = self.endpoint_url
        return fsspec.core.url_to_fs(self.url, **options)

    def files(self) -> list[LandedFile]:
        """Files ready for ingestion: complete (no hidden or temporary name), known format."""
        fs, root = self._fs()
        try:
            # A missing folder or prefix lists as empty (one request on S3, not three).
            listed = fs.find(root, detail=True)
        except FileNotFoundError:
            return []
        found = []
        for path, info in sorted(listed.items()):
            name = path.rsplit("/", 1)[-1]
            if info.get("type") != "file" or not is_ready(name):
                continue
            if in_folders(path, root, self.skip_folders):
                continue
            found.append(_landed(fs, path, info))
        return found

    def delivery(self, landed: LandedFile) -> Delivery:
        fs, _ = self._fs()
        return Delivery(
            data=fs.cat_file(landed.path),
            file_name=landed.name,
            source=FILE_DROP,
            source_ref=landed.path,
            arrived_at=landed.arrived_at,
        )


def _landed(fs: fsspec.AbstractFileSystem, path: str, info: dict[str, Any]) -> LandedFile:
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
    if local:
        arrived = datetime.fromtimestamp(info["mtime"], UTC)
        return LandedFile(path, int(info["size"]), str(info["mtime"]), arrived)
    modified = info.get("LastModified")
    arrived = modified if isinstance(modified, datetime) else datetime.now(UTC)
    version = info.get("ETag") or str(modified)
    return LandedFile(fs.unstrip_protocol(path), int(info["size"]), str(version), arrived)


@dataclass
class Pulled:
    """New records read from a pulled source, not yet landed, and the progress they reach."""

    data: bytes
    file_name: str
    rows: int
    progress: dict[str, Any]
    ref: str
    details: dict[str, Any] = field(default_factory=dict)
    acknowledge: Callable[[], None] = lambda: None


class PulledSource(Protocol):
    name: str

    def pull(self, progress: dict[str, Any]) -> Pulled | None: ...


@dataclass
class Landing:
    manifest: dict[str, Any]
    is_new: bool
    quarantined: bool


def land_pulled(
    source: PulledSource,
    store: BatchStore,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
) -> Landing | None:
    """Land what `source` has beyond its progress as one raw batch; None when nothing is new.

    Order matters: the batch is durably written, then the progress advances, then messages are
    acknowledged. Rows outside every partition are kept, in quarantine, rather than dropped or
    left to block the source forever.
    """
    pulled = source.pull(store.source_progress(source.name))
    if pulled is None:
        return None
    arrived = datetime.now(UTC)
    delivery = Delivery(
        data=pulled.data,
        file_name=pulled.file_name,
        source=source.name,
        source_ref=pulled.ref,
        arrived_at=arrived,
        rows=pulled.rows,
        details=pulled.details,
    )
    try:
        partitions = partitions_of_bytes(pulled.data, pulled.file_name, arrived, key_of, spec)
    except ValueError as exc:
        partitions, unplaced = [], str(exc)
    manifest, is_new = store.ingest_pulled(delivery, partitions, pulled.progress)
    pulled.acknowledge()
    if not partitions:
        failure = SchemaFailure(spec.dataset.time, "no_partition", unplaced)
        store.quarantine(manifest, ValidationOutcome(pulled.file_name, None, [failure]).as_record())
    return Landing(manifest, is_new, quarantined=not partitions)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _jsonl(lines: list[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


# -- SQL table with an incremental watermark ---------------------------------------------------


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, pd.Timestamp | datetime):
        return {"type": "datetime", "value": pd.Timestamp(value).isoformat()}
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    return {"type": type(value).__name__, "value": value}


def _decode(encoded: dict[str, Any]) -> Any:
    if encoded["type"] == "datetime":
        return pd.Timestamp(encoded["value"]).to_pydatetime()
    return encoded["value"]


class SqlTableSource(dg.ConfigurableResource):
    """A table that grows: rows past the (watermark, key) of the last landed batch are new.

    The key breaks ties between rows sharing a watermark value, so a batch boundary inside such a
    tie loses nothing. Rows committed later with a watermark below the recorded one are not seen:
    the watermark column should be set by the database at commit (an insert time or sequence).
    """

    name: str = "sql_table"
    url: str
    table: str = "events"
    watermark_column: str = "ingested_at"
    key_column: str
    columns: list[str] | None = None
    batch_rows: int = 100_000

    def _where(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def pull(self, progress: dict[str, Any]) -> Pulled | None:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                table = sa.Table(self.table, sa.MetaData(), autoload_with=conn)
                frame = pd.read_sql(self._query(table, progress), conn)
        except sa.exc.NoSuchTableError as exc:
            raise SourceError(
                f"{self.name}: table {self.table!r} not found at {self._where()}"
            ) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(
                f"{self.name}: cannot read {self.table!r} at {self._where()}: {exc}"
            ) from exc
        finally:
            engine.dispose()
        if frame.empty:
            return None
        last = frame.iloc[-1]
        reached = {"watermark": _encode(last["_ct_watermark"]), "key": _encode(last["_ct_key"])}
        data = frame.drop(columns=["_ct_watermark", "_ct_key"])
        buffer = io.BytesIO()
        data.to_parquet(buffer, index=False)
        return Pulled(
            data=buffer.getvalue(),
            file_name=f"{self.table}_{_stamp()}.parquet",
            rows=len(data),
            progress=reached,
            ref=f"{self._where()}#{self.table}",
            details={
                "table": self.table,
                "watermark_column": self.watermark_column,
                "from": progress or None,
                "to": reached,
            },
        )

    def _query(self, table: sa.Table, progress: dict[str, Any]) -> sa.Select:
        missing = {self.watermark_column, self.key_column, *(self.columns or [])} - set(
            table.c.keys()
        )
        if missing:
            raise SourceError(
                f"{self.name}: table {self.table!r} has no column(s) {sorted(missing)}; "
                f"it has {sorted(table.c.keys())}"
            )
        watermark, key = table.c[self.watermark_column], table.c[self.key_column]
        selected = [table.c[c] for c in self.columns] if self.columns else list(table.c)
        query = sa.select(*selected, watermark.label("_ct_watermark"), key.label("_ct_key"))
        if progress:
            mark, last_key = _decode(progress["watermark"]), _decode(progress["key"])
            query = query.where(
                sa.or_(watermark > mark, sa.and_(watermark == mark, key > last_key))
            )
        return query.order_by(watermark, key).limit(self.batch_rows)


# -- Redis Streams with a consumer group ----------------------------------------------------------


class RedisStreamSource(dg.ConfigurableResource):
    """Events on a Redis stream, read through a consumer group.

    A message is acknowledged only after the raw batch holding it is durably written. Messages
    read but never acknowledged (the reader died) are read again: this consumer's own pending
    ones at once, other consumers' after `reclaim_idle_ms`. Messages of the last landed batch
    that are still pending (died between landing and acknowledging) are acknowledged, not landed
    again. Each message carries its event as JSON in `payload_field`, or as plain fields.
    """

    name: str = "redis_stream"
    url: str
    stream: str = "ct:events"
    group: str = "ct"
    consumer: str = "ct-ingest"
    payload_field: str = "event"
    batch_messages: int = 50_000
    reclaim_idle_ms: int = 60_000

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=30, socket_connect_timeout=5)

    def _ensure_group(self, client: redis.Redis) -> None:
        try:
            client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def pull(self, progress: dict[str, Any]) -> Pulled | None:
        client = self._client()
        try:
            return self._pull(client, progress)
        except redis.RedisError as exc:
            raise SourceError(
                f"{self.name}: cannot read stream {self.stream!r} at {self.url}: {exc}"
            ) from exc

    def _pull(self, client: redis.Redis, progress: dict[str, Any]) -> Pulled | None:
        self._ensure_group(client)
        limit = self.batch_messages
        own = self._read(client, "0", limit)
        _, claimed, _ = client.xautoclaim(
            self.stream, self.group, self.consumer, self.reclaim_idle_ms, "0-0", count=limit
        )
        landed = set(progress.get("batch_ids", []))
        pending = {_text(i): f for i, f in [*own, *claimed]}
        # Already landed, or trimmed from the stream while pending: nothing left to land.
        done = {i for i, f in pending.items() if i in landed or f is None}
        if done:
            client.xack(self.stream, self.group, *done)
        messages = {i: f for i, f in pending.items() if i not in done}
        if len(messages) < limit:
            for i, fields in self._read(client, ">", limit - len(messages)):
                messages[_text(i)] = fields
        if not messages:
            return None
        ids = sorted(messages, key=_id_order)
        lines = [self._line(messages[i]) for i in ids]

        def acknowledge() -> None:
            client.xack(self.stream, self.group, *ids)

        return Pulled(
            data=_jsonl(lines),
            file_name=f"{self.stream.replace(':', '_')}_{_stamp()}.jsonl",
            rows=len(lines),
            progress={"batch_ids": ids, "last_id": ids[-1]},
            ref=f"{self.url}#{self.stream}",
            details={
                "stream": self.stream,
                "group": self.group,
                "first_id": ids[0],
                "last_id": ids[-1],
                "redelivered": len(pending) - len(done),
            },
            acknowledge=acknowledge,
        )

    def _read(self, client: redis.Redis, start: str, count: int) -> list[tuple[Any, Any]]:
        reply: Any = client.xreadgroup(self.group, self.consumer, {self.stream: start}, count=count)
        return [entry for _, entries in reply for entry in entries] if reply else []

    def _line(self, fields: dict[bytes, bytes]) -> str:
        decoded = {_text(k): _text(v) for k, v in fields.items()}
        payload = decoded.get(self.payload_field)
        return payload if payload is not None and len(decoded) == 1 else json.dumps(decoded)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _id_order(message_id: str) -> tuple[int, int]:
    millis, _, seq = message_id.partition("-")
    return int(millis), int(seq or 0)


# -- Paged JSON HTTP API --------------------------------------------------------------------------


class HttpApiSource(dg.ConfigurableResource):
    """A JSON API returning records a page at a time: `{items: [...], next_cursor: "..."}`.

    Each request passes the cursor of the last page landed; the API returns the records after it
    and the cursor to resume from. Transient failures (connection errors, 429 and 5xx) are
    retried with exponential backoff; after `retries` the pull fails with the URL and the cause.
    """

    name: str = "http_api"
    url: str
    token: str | None = None
    items_field: str = "items"
    cursor_field: str = "next_cursor"
    cursor_param: str = "cursor"
    page_size_param: str = "limit"
    page_size: int = 1_000
    max_pages: int = 100
    timeout_seconds: float = 10.0
    retries: int = 4
    backoff_seconds: float = 0.5

    def _session(self) -> requests.Session:
        retry = Retry(
            total=self.retries,
            backoff_factor=self.backoff_seconds,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
        )
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        if self.token:
            session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def _page(self, session: requests.Session, cursor: str | None, number: int) -> dict[str, Any]:
        params: dict[str, Any] = {self.page_size_param: self.page_size}
        if cursor:
            params[self.cursor_param] = cursor
        try:
            response = session.get(self.url, params=params, timeout=self.timeout_seconds)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise SourceError(
                f"{self.name}: GET {self.url} (page {number}, cursor {cursor!r}) failed after "
                f"{self.retries + 1} attempts with backoff: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError(f"{self.name}: {self.url} page {number} is not JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get(self.items_field), list):
            raise SourceError(
                f"{self.name}: {self.url} page {number} has no list field {self.items_field!r}"
            )
        return body

    def pull(self, progress: dict[str, Any]) -> Pulled | None:
        session = self._session()
        start = cursor = progress.get("cursor")
        records: list[Any] = []
        pages = 0
        with session:
            while pages < self.max_pages:
                body = self._page(session, cursor, pages)
                pages += 1
                items, following = body[self.items_field], body.get(self.cursor_field)
                records.extend(items)
                if following:
                    cursor = str(following)
                if not items or not following:
                    break
        if not records:
            return None
        lines = [json.dumps(record) for record in records]
        return Pulled(
            data=_jsonl(lines),
            file_name=f"{self.name}_{_stamp()}.jsonl",
            rows=len(lines),
            progress={"cursor": cursor},
            ref=self.url,
            details={"url": self.url, "pages": pages, "cursor_from": start, "cursor_to": cursor},
        )
