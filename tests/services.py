"""Real services on localhost for the source tests: PostgreSQL, Redis, moto's S3 server and a
small paged JSON API. A missing service skips its tests with the reason, except in CI
(`CT_REQUIRE_SERVICES=1`), where it fails them: a skip there would hide an untested source.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

POSTGRES_URL = os.environ.get(
    "CT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(service: str, why: object) -> None:
    reason = f"{service} is not reachable on localhost ({why})"
    if os.environ.get("CT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"CT_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def postgres_table() -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, a fresh table name) in the local PostgreSQL; the table is dropped after."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        unavailable("PostgreSQL", str(exc).splitlines()[0])
    table = f"ct_events_{uuid.uuid4().hex[:10]}"
    yield POSTGRES_URL, table
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop table if exists "{table}"'))
    engine.dispose()


@pytest.fixture
def redis_stream() -> Iterator[tuple[str, str]]:
    """(Redis URL, a fresh stream key); the stream is deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    stream = f"ct:test:{uuid.uuid4().hex[:10]}"
    yield REDIS_URL, stream
    client.delete(stream)
    client.close()


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, spoken to over HTTP like any S3-compatible store."""
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "ct-test",
        "AWS_SECRET_ACCESS_KEY": "ct-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class PagedApi:
    """A paged JSON API over records: `?cursor=<index>&limit=N` -> items after the cursor."""

    records: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    always_fail: bool = False
    delay_seconds: float = 0.0
    requests: int = 0

    def page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        self.requests += 1
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if self.always_fail or self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"error": "unavailable"}
        start = int(query.get("cursor", ["0"])[0])
        limit = int(query.get("limit", ["100"])[0])
        items = self.records[start : start + limit]
        return 200, {"items": items, "next_cursor": str(start + len(items))}


@pytest.fixture
def paged_api() -> Iterator[tuple[str, PagedApi]]:
    api = PagedApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            status, body = api.page(parse_qs(url.query))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", api
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Webhook:
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[tuple[str, Webhook]]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            hook.received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", hook
    finally:
        server.shutdown()
        server.server_close()
