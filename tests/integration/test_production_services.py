"""The production components as ct uses them, each a real service on localhost: S3 (moto's server
over HTTP, behind a proxy a test can take down), PostgreSQL databases, and an MLflow tracking
server storing runs in PostgreSQL and artifacts in S3."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import psycopg
import pytest
from botocore.exceptions import EndpointConnectionError
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from ct_assets.ml.families import TrainedModel
from ct_assets.ml.families.sklearn_linear import NAME as SKLEARN_LINEAR
from resources.mlflow_registry import MlflowRegistry
from tests.services import S3_FAIL_FAST, MlflowServer, S3Server, fresh_databases

pytestmark = pytest.mark.integration

# A client configured to fail fast gives up on a refused endpoint within this (measured: S3
# ~0.5 s, MLflow ~0.01 s); MLflow's defaults take about four minutes.
FAIL_FAST_SECONDS = 5.0


def timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """What `call` raised (None if nothing) and how long it took."""
    began = time.monotonic()
    try:
        call()
    except Exception as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


def test_s3_outage_refuses_connections_and_keeps_every_object(s3_server: S3Server) -> None:
    s3_server.make_bucket("data")
    fs = s3_server.filesystem(**S3_FAIL_FAST)
    fs.pipe_file("data/raw/batch-1.csv", b"a,b\n1,2\n")
    assert fs.cat_file("data/raw/batch-1.csv") == b"a,b\n1,2\n"  # a pooled connection now open

    with s3_server.outage():
        read, read_seconds = timed(lambda: fs.cat_file("data/raw/batch-1.csv"))
        write, write_seconds = timed(lambda: fs.pipe_file("data/raw/batch-2.csv", b"x"))
        fresh, fresh_seconds = timed(
            lambda: s3_server.filesystem(**S3_FAIL_FAST).cat_file("data/raw/batch-1.csv")
        )
        assert s3_server.keys("data") == ["raw/batch-1.csv"]  # moto itself kept it

    for error, seconds in ((read, read_seconds), (write, write_seconds), (fresh, fresh_seconds)):
        assert isinstance(error, EndpointConnectionError), error
        assert s3_server.url in str(error)
        assert seconds < FAIL_FAST_SECONDS
    assert fs.cat_file("data/raw/batch-1.csv") == b"a,b\n1,2\n"
    fs.pipe_file("data/raw/batch-2.csv", b"x")
    assert s3_server.keys("data") == ["raw/batch-1.csv", "raw/batch-2.csv"]


def race_to_create(fs: Any, key: str, writers: tuple[str, ...]) -> dict[str, Exception | None]:
    """Every writer creates `key` with its own name as content, all released at once: what each
    one raised (None for success)."""
    start = threading.Barrier(len(writers))
    outcomes: dict[str, Exception | None] = {}

    def write(writer: str) -> None:
        start.wait()
        try:
            fs.pipe_file(key, writer.encode(), mode="create")
            outcomes[writer] = None
        except Exception as exc:
            outcomes[writer] = exc

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_conditional_create_admits_exactly_one_of_two_racing_writers(s3_server: S3Server) -> None:
    s3_server.make_bucket("data")
    fs = s3_server.filesystem(**S3_FAIL_FAST)
    for attempt in range(5):
        key = f"data/manifests/batch-{attempt}.json"
        outcomes = race_to_create(fs, key, ("first", "second"))
        winners = [w for w, error in outcomes.items() if error is None]
        losers = [error for error in outcomes.values() if error is not None]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1 and type(losers[0]) is FileExistsError, outcomes
        assert fs.cat_file(key) == winners[0].encode()  # the loser changed nothing


def test_fresh_databases_are_empty_apart_and_dropped_even_when_connected() -> None:
    with fresh_databases() as new:
        first, second = new(), new()
        assert first != second
        assert first.startswith("postgresql://postgres@127.0.0.1:5432/ct_test_")
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("create table t (x int)")
        with psycopg.connect(second) as conn:
            tables = conn.execute(
                "select count(*) from information_schema.tables where table_schema = 'public'"
            ).fetchone()
            assert tables == (0,)
        left_open = psycopg.connect(first)  # a client that never closes must not block the drop
    names = [url.rsplit("/", 1)[1] for url in (first, second)]
    with psycopg.connect(second.rsplit("/", 1)[0] + "/postgres") as admin:
        found = admin.execute(
            "select datname from pg_database where datname = any(%s)", (names,)
        ).fetchall()
    assert found == []
    assert _dead(left_open)
    left_open.close()


def _dead(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("select 1")
    except psycopg.OperationalError:
        return True
    return False


def _candidate() -> tuple[TrainedModel, pd.DataFrame]:
    frame = pd.DataFrame({"amount": [float(i) for i in range(40)], "hour": list(range(40))})
    label = (frame["amount"] > 19).astype(int)
    model = LogisticRegression().fit(frame, label)
    return TrainedModel(SKLEARN_LINEAR, model, params={"C": 1.0}), frame


def registry_on(server: MlflowServer) -> MlflowRegistry:
    # No artifact root: the server decides (mlflow-artifacts:/, proxied to its S3 destination).
    return MlflowRegistry(tracking_uri=server.tracking_uri, artifact_root=None)


def test_registry_on_the_server_stores_models_in_s3_and_the_champion_survives_a_restart(
    mlflow_server: MlflowServer, s3_server: S3Server
) -> None:
    registry = registry_on(mlflow_server)
    trained, frame = _candidate()
    tags = {"ct.partition": "2026-01-01"}
    logged = registry.log_candidate(trained, frame, {"roc_auc": 0.9}, tags)
    registry.promote(logged["version"], None, "first champion")

    stored = s3_server.keys("mlflow", "mlflow/")
    run_files = [k for k in stored if f"/{logged['run_id']}/" in k or "/models/" in k]
    assert any(k.endswith("/MLmodel") for k in run_files), stored
    assert any(k.endswith(".skops") or k.endswith(".pkl") for k in run_files), stored

    mlflow_server.stop()
    mlflow_server.start()

    registry = registry_on(mlflow_server)
    assert registry.champion_version() == logged["version"]
    assert registry.history()[-1]["to"] == logged["version"]
    family, model = registry.load(logged["version"])  # read back from S3 through the server
    assert family == SKLEARN_LINEAR
    assert list(model.predict(frame.head(3))) == list(trained.model.predict(frame.head(3)))


def test_registry_read_with_the_server_down_fails_fast_naming_the_server(
    mlflow_server: MlflowServer,
) -> None:
    registry = registry_on(mlflow_server)
    assert registry.champion_version() is None
    with mlflow_server.outage():
        error, seconds = timed(registry.champion_version)
    assert isinstance(error, MlflowException), error
    assert mlflow_server.tracking_uri in str(error)
    assert seconds < FAIL_FAST_SECONDS
    assert registry.champion_version() is None  # back, and nothing moved


def test_model_logging_with_s3_down_fails_and_succeeds_once_s3_is_back(
    mlflow_server: MlflowServer, s3_server: S3Server
) -> None:
    registry = registry_on(mlflow_server)
    trained, frame = _candidate()
    with s3_server.outage():
        error, seconds = timed(lambda: registry.log_candidate(trained, frame, {}, {}))
    assert isinstance(error, MlflowException), error
    assert seconds < 120
    assert registry.champion_version() is None
    logged = registry.log_candidate(trained, frame, {}, {})
    assert any(k.endswith("/MLmodel") for k in s3_server.keys("mlflow", "mlflow/"))
    assert logged["version"] == "1"  # the failed attempt registered nothing


def test_two_projects_registries_on_one_server_each_keep_their_own_champion(
    mlflow_server: MlflowServer,
) -> None:
    """Two projects of a fleet on one MLflow server: each registers into its own model, so each
    has its own versions and its own champion alias, and a promotion in one moves nothing of the
    other's."""
    shop = MlflowRegistry(
        tracking_uri=mlflow_server.tracking_uri, artifact_root=None, registered_model="shop"
    )
    energy = MlflowRegistry(
        tracking_uri=mlflow_server.tracking_uri, artifact_root=None, registered_model="energy"
    )
    trained, frame = _candidate()
    first = shop.log_candidate(trained, frame, {"roc_auc": 0.9}, {"ct.partition": "2026-01-01"})
    shop.promote(first["version"], None, "shop's first champion")
    assert energy.champion_version() is None

    # The same candidate logged by the other project is a version of its own model, not a reuse.
    other = energy.log_candidate(trained, frame, {"rmse": 1.0}, {"ct.partition": "2026-01-01"})
    second = energy.log_candidate(trained, frame, {"rmse": 0.9}, {"ct.partition": "2026-01-02"})
    energy.promote(second["version"], None, "energy's first champion")

    assert [v["version"] for v in shop.versions()] == [first["version"]]
    assert [v["version"] for v in energy.versions()] == [other["version"], second["version"]]
    assert (shop.champion_version(), energy.champion_version()) == ("1", "2")
    assert [entry["to"] for entry in shop.history()] == ["1"]
    assert [entry["to"] for entry in energy.history()] == ["2"]
