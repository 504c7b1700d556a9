"""Real services on localhost: PostgreSQL, Redis, moto's S3 server, an MLflow tracking server and
small HTTP endpoints. A missing service skips its tests with the reason, except in CI
(`CT_REQUIRE_SERVICES=1`), where it fails them: a skip there would hide an untested source.

The production harness (`s3_server`, `postgres_databases`, `mlflow_server`) runs each service as
its own process, as production does, so a test can take one down and bring it back mid-run.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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


# --- The production harness: each service its own process, each one able to fail. ---

AWS_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ct-test",
    "AWS_SECRET_ACCESS_KEY": "ct-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}
POSTGRES_ADMIN_URL = os.environ.get(
    "CT_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# A client of a service that is down gives up in seconds instead of MLflow's default of minutes
# (7 retries, backoff factor 2, 120 s timeout); measured in test_production_services.
MLFLOW_FAIL_FAST = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
# The same for s3fs, as its `config_kwargs` (botocore's Config): one retry, a short connect
# timeout. botocore rewrites the dict it is given (max_attempts -> total_max_attempts): pass a
# copy to each filesystem.
S3_FAIL_FAST: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 10,
    "retries": {"total_max_attempts": 2, "mode": "standard"},
}


def _log_tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class ServiceProcess:
    """A service as a child process in its own session, so stopping it stops its workers too."""

    def __init__(self, name: str, command: list[str], log: Path, env: dict[str, str]) -> None:
        self.name, self.command, self.log, self.env = name, command, log, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, health_url: str, deadline_seconds: float) -> float:
        """Start and wait until `health_url` answers 200; the seconds that took."""
        began = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        while not _http_ok(health_url):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before {health_url} "
                    f"answered; {self.log}:\n{_log_tail(self.log)}"
                )
            if time.monotonic() - began > deadline_seconds:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not answer {health_url} within {deadline_seconds:.0f} s; "
                    f"{self.log}:\n{_log_tail(self.log)}"
                )
            time.sleep(0.05)
        return time.monotonic() - began

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            # The session id is the child's pid: only the processes this harness started.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            # Workers the server forked and left behind (uvicorn's, on a hard kill).
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


class SwitchableProxy:
    """A TCP proxy on 127.0.0.1 in front of one service. `down()` closes its listener and every
    open connection, so clients get connection refused, as when the service's host is gone;
    `up()` listens again on the same port, the service behind it untouched."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.up()

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def up(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the blocked accept(); close() alone would not on Linux.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
            self._acceptor = None
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            _close(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # went down while this one connected
                    _close(client)
                    _close(upstream)
                    return
                self._connections.update((client, upstream))
            pending = [2]  # the two directions still open
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, sink, pending), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, pending: list[int]) -> None:
        broken = False
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            # Pass the half-close on: the other direction may still be answering.
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            broken = True
        with self._lock:
            # A broken direction ends the pair: closing both wakes the other direction's recv().
            pending[0] = 0 if broken else pending[0] - 1
            finished = pending[0] <= 0
            if finished:
                self._connections.difference_update((source, sink))
        if finished:
            _close(source)
            _close(sink)


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        conn.close()


def _venv_script(name: str) -> str:
    """A console script of this environment (beside its interpreter), never one on PATH."""
    return str(Path(sys.executable).parent / name)


class MotoProcess:
    """moto's S3 server as a separate process: its objects live in that process' memory, so they
    survive anything the test process does to the network in front of it."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [_venv_script("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        self._service = ServiceProcess("moto_server", command, log, dict(os.environ))
        self.startup_seconds = self._service.start(f"{self.url}/moto-api/", 30)

    def reset(self) -> None:
        """Forget every bucket: what a fresh process would hold, at a fraction of its start."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        self._service.stop()


class S3Server:
    """moto's S3 server behind a switchable proxy: `url` is the endpoint clients use."""

    def __init__(self, moto: MotoProcess) -> None:
        self.moto = moto
        self.proxy = SwitchableProxy(moto.port)
        self.url = f"http://127.0.0.1:{self.proxy.port}"

    def _direct(self) -> Any:
        """A boto3 client straight to moto, past the proxy: setup and inspection work even
        while the endpoint is down."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.moto.url,
            aws_access_key_id=AWS_TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=AWS_TEST_CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def make_bucket(self, name: str) -> str:
        """Create a bucket; its `s3://` URL."""
        self._direct().create_bucket(Bucket=name)
        return f"s3://{name}"

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under a prefix, read past the proxy."""
        pages = (
            self._direct().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def filesystem(self, **config_kwargs: Any) -> Any:
        """A fresh s3fs filesystem on the endpoint (no fsspec instance cache: a test's outage
        must not reach a filesystem another test cached)."""
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=self.url,
            key=AWS_TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret=AWS_TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            client_kwargs={"region_name": AWS_TEST_CREDENTIALS["AWS_DEFAULT_REGION"]},
            config_kwargs=copy.deepcopy(config_kwargs),
            skip_instance_cache=True,
        )

    def down(self) -> None:
        self.proxy.down()

    def up(self) -> None:
        self.proxy.up()

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.down()
        try:
            yield
        finally:
            self.up()

    def close(self) -> None:
        self.proxy.down()


_moto_processes: list[MotoProcess] = []


@atexit.register
def _stop_moto_processes() -> None:
    """A session killed mid-test still stops the moto process it started."""
    for moto in _moto_processes:
        moto.stop()


@pytest.fixture(scope="session")
def moto_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoProcess]:
    """One moto server process for the session (about a second to start); `s3_server` resets
    it for every test."""
    moto = MotoProcess(tmp_path_factory.mktemp("moto") / "moto.log")
    _moto_processes.append(moto)
    try:
        yield moto
    finally:
        moto.stop()
        _moto_processes.remove(moto)


@pytest.fixture
def s3_server(moto_process: MotoProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """An empty S3 endpoint over HTTP that a test can take down (`down()`, `up()`, `outage()`)
    with its objects kept; AWS credentials for it in the environment."""
    for name, value in AWS_TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    moto_process.reset()
    server = S3Server(moto_process)
    try:
        yield server
    finally:
        server.close()


def _postgres_admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", str(exc).strip().splitlines()[0])


def _database_url(name: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)


def _drop_database(admin: Any, name: str) -> None:
    admin.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity"
        " where datname = %s and pid <> pg_backend_pid()",
        (name,),
    )
    # FORCE (PostgreSQL 13+) also ends a connection that opened after the terminate above.
    force = " with (force)" if admin.info.server_version >= 130000 else ""
    admin.execute(f'drop database if exists "{name}"{force}')


@contextlib.contextmanager
def fresh_databases() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases (`ct_test_<hex>`), each as the URL that
    dagster-postgres and MLflow accept; on exit every one is dropped, its connections ended."""
    admin = _postgres_admin()
    made: list[str] = []

    def new() -> str:
        name = f"ct_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f'create database "{name}"')
        made.append(name)
        return _database_url(name)

    try:
        yield new
    finally:
        for name in made:
            _drop_database(admin, name)
        admin.close()


@pytest.fixture
def postgres_databases() -> Iterator[Callable[[], str]]:
    """`fresh_databases()` for one test: call it once per database (Dagster's storage, MLflow's
    backend store)."""
    with fresh_databases() as new:
        yield new


@pytest.fixture
def postgres_database(postgres_databases: Callable[[], str]) -> str:
    """One fresh PostgreSQL database's URL, e.g. postgresql://postgres@127.0.0.1:5432/ct_test_…"""
    return postgres_databases()


class MlflowServer:
    """`mlflow server` as its own process: runs and the registry in PostgreSQL, artifacts
    proxied (`--serve-artifacts`) to S3. `stop()` and `start()` restart it on the same port and
    database, so what it stored is still there."""

    def __init__(self, backend_store_uri: str, s3: S3Server, bucket: str, log: Path) -> None:
        self.backend_store_uri = backend_store_uri
        self.artifacts_destination = f"s3://{bucket}/mlflow"
        self.port = free_port()
        self.tracking_uri = f"http://127.0.0.1:{self.port}"
        command = [
            _venv_script("mlflow"),
            "server",
            "--backend-store-uri",
            backend_store_uri,
            "--artifacts-destination",
            self.artifacts_destination,
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        env = {
            **os.environ,
            **AWS_TEST_CREDENTIALS,
            # The server reaches S3 through the proxy too: an S3 outage is one for MLflow.
            "MLFLOW_S3_ENDPOINT_URL": s3.url,
            # MLflow's job runner (GenAI evaluation jobs, which ct never submits) is one more
            # process importing MLflow while the server starts.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        env.pop("MLFLOW_TRACKING_URI", None)
        self._service = ServiceProcess("mlflow server", command, log, env)
        self.startup_seconds: list[float] = []

    @property
    def log(self) -> Path:
        return self._service.log

    @property
    def running(self) -> bool:
        return self._service.running

    def start(self, deadline_seconds: float = 90) -> float:
        """Start and wait for `/health`; the seconds it took (the first start also migrates the
        database)."""
        took = self._service.start(f"{self.tracking_uri}/health", deadline_seconds)
        self.startup_seconds.append(took)
        return took

    def stop(self) -> None:
        self._service.stop()

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@pytest.fixture
def mlflow_server(
    s3_server: S3Server,
    postgres_databases: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MlflowServer]:
    """A running MLflow tracking server on a fresh database and the `mlflow` bucket of
    `s3_server`. Clients in the test fail fast when it is down (`MLFLOW_FAIL_FAST`)."""
    for name, value in MLFLOW_FAIL_FAST.items():
        monkeypatch.setenv(name, value)
    s3_server.make_bucket("mlflow")
    server = MlflowServer(postgres_databases(), s3_server, "mlflow", tmp_path / "mlflow-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
