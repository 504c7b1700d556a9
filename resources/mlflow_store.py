"""Opening an MLflow tracking store: a local SQLite store is created and migrated by one
process at a time, under a file lock beside it."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

# Local SQLite stores this process has seen created and migrated (see `open_client`).
_READY_STORES: set[str] = set()


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_client(tracking_uri: str) -> MlflowClient:
    """A client of the tracking store and registry at `tracking_uri`, the store made first."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    store = tracking_uri.removeprefix("sqlite:///")
    if store == tracking_uri or store in _READY_STORES:
        return mlflow.MlflowClient(tracking_uri, registry_uri=tracking_uri)
    # A local SQLite store is created and migrated by one process at a time: every process
    # that opens a missing store migrates it, and two doing so at once (two ct commands on
    # a fresh project, a sensor tick and a run) fail on MLflow's alembic version row.
    with file_lock(Path(f"{store}.create.lock")):
        # The client opens the tracking store; the registry's opens on first use.
        client = mlflow.MlflowClient(tracking_uri, registry_uri=tracking_uri)
        client.search_registered_models(max_results=1)
    _READY_STORES.add(store)
    return client
