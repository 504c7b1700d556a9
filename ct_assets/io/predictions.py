"""The prediction log: every answer (and every shadow score) serving gave, append-only.

Layout under the project's data folder: `predictions/<partition key>/<time>-<uuid>.parquet`,
one file per flush under a new unique name, each published whole (`write_whole`: a rename on
disk, one PUT on object storage), so a reader never sees half a file and nothing is rewritten.
The partition key is the project's own (a day for daily partitions) of the scored event's time,
so a day of predictions lines up with the day of data and labels; `time` is when the answer was
given.

A row per scored input row: the request id and the row's place in the request, when, which
model version answered it (or scored it in shadow) and by which route, the feature-set id, a
hash of the inputs (the inputs themselves stay with the caller), the output.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from ct_assets.crash import crash_point
from ct_assets.ingest.files import (
    Location,
    listing,
    local_path,
    read_bytes,
    remote,
    sweep_staging,
    write_whole,
)
from ct_assets.project.spec import PERIODS

FOLDER = "predictions"
# Which answers a row records: the one returned to the caller, or a shadow score (never returned).
ANSWER, SHADOW = "answer", "shadow"
# How a version came to answer: the champion; a new champion's canary share; the previous
# champion (canary remainder); a version the caller named; the previous champion standing in
# for a champion that raised or ran over its latency budget.
CHAMPION_ROUTE, CANARY_ROUTE, PREVIOUS_ROUTE, PINNED_ROUTE, FALLBACK_ROUTE = (
    "champion",
    "canary",
    "previous",
    "pinned",
    "fallback",
)
SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("row", pa.int32()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("partition", pa.string()),
        ("model_version", pa.string()),
        ("role", pa.string()),
        ("route", pa.string()),
        ("feature_set_id", pa.string()),
        ("inputs_hash", pa.string()),
        ("entity", pa.string()),
        ("output", pa.float64()),
    ]
)


class Prediction(NamedTuple):
    # A tuple, not a dataclass: a second's rows become Arrow columns by `zip`, where
    # `dataclasses.astuple` (a deep copy per row) cost serving a stall a second.
    request_id: str
    row: int
    time: datetime
    partition: str
    model_version: str
    role: str
    route: str
    feature_set_id: str
    inputs_hash: str
    entity: str | None
    output: float


def inputs_hash(row: dict[str, Any]) -> str:
    """A stable hash of one input row as the caller sent it (key order does not matter)."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def partition_key_at(moment: datetime, granularity: str) -> str:
    """The project's partition key holding `moment`, spelled as Dagster spells it."""
    return PERIODS[granularity].key_at(moment)


def folder(data_dir: Location) -> Location:
    return data_dir / FOLDER


def by_partition(rows: Sequence[Prediction]) -> list[tuple[str, list[Prediction]]]:
    """Rows grouped by the partition they fall in, in partition order: one file each."""
    grouped: dict[str, list[Prediction]] = {}
    for row in rows:
        grouped.setdefault(row.partition, []).append(row)
    return sorted(grouped.items())


def write_chunk(data_dir: Location, partition: str, chunk: Sequence[Prediction]) -> Location:
    """One new file of `partition`'s rows, published whole under a name no one else uses."""
    columns = list(zip(*chunk, strict=True))
    table = pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder(data_dir) / partition / f"{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    # A new name each time: nothing of this name to sweep (the log sweeps its folder at start).
    return write_whole(path, _parquet_writer(table), point=FOLDER, sweep=False)


def write_batch(data_dir: Location, rows: Sequence[Prediction]) -> list[Location]:
    """Append rows: one new file per partition they fall in, never a rewrite."""
    written = []
    for partition, chunk in by_partition(rows):
        written.append(write_chunk(data_dir, partition, chunk))
        # Killed here, a flush is half done: the files written are whole, the rest never
        # were (a reader sees some partitions' rows of this flush, each once).
        crash_point("predictions.flush")
    return written


def _parquet_writer(table: pa.Table) -> Any:
    return lambda target: pq.write_table(table, target)


def files(data_dir: Location, partitions: Iterable[str] | None = None) -> list[Location]:
    base = folder(data_dir)
    if partitions is None:
        return listing(base, "*/*.parquet")
    return sorted((p for key in partitions for p in listing(base / key, "*.parquet")), key=str)


def read_file(path: Location, **options: Any) -> pa.Table:
    """One log file; an object is fetched whole (log files are small), a local file mapped."""
    source: Any = pa.BufferReader(read_bytes(path)) if remote(path) else str(path)
    return pq.read_table(source, schema=SCHEMA, **options)


def read(data_dir: Location, partitions: Iterable[str] | None = None) -> pa.Table:
    """Every logged row (of the given partitions), in one table of `SCHEMA`."""
    found = files(data_dir, partitions)
    if not found:
        return SCHEMA.empty_table()
    return pa.concat_tables(read_file(p) for p in found)


def find_request(data_dir: Location, request_id: str) -> list[dict[str, Any]]:
    """The logged rows of one request (answers and shadow scores), oldest file first."""
    import pyarrow.compute as pc

    rows: list[dict[str, Any]] = []
    for path in files(data_dir):
        table = read_file(path, filters=pc.field("request_id") == request_id)
        rows.extend(table.to_pylist())
    return rows


def sweep_log(data_dir: Location) -> None:
    """Remove the staging files a killed writer left in the log (never visible to readers,
    but they hold disk); object stores have none."""
    if remote(data_dir) is not None:
        return
    base = local_path(folder(data_dir))
    if base.is_dir():
        for partition in (p for p in base.iterdir() if p.is_dir()):
            sweep_staging(partition)


class PredictionLog:
    """Appends off the caller's path: `append` only queues; a thread wakes every `interval`
    seconds and writes what came (one file per partition), and `close` writes what is left.

    The thread wakes on a clock, not per row: in a serving process each wake-up would take the
    GIL from the event loop that answers requests.
    """

    def __init__(self, data_dir: Location, interval: float = 1.0) -> None:
        self.data_dir = data_dir
        self.interval = interval
        self._queue: queue.SimpleQueue[list[Prediction]] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self.written = 0
        self.failures = 0
        sweep_log(data_dir)
        self._thread.start()

    def append(self, rows: Iterable[Prediction]) -> None:
        self._queue.put(list(rows))

    def _drain(self) -> list[Prediction]:
        pending: list[Prediction] = []
        while True:
            try:
                pending.extend(self._queue.get_nowait())
            except queue.Empty:
                return pending

    def _run(self) -> None:
        while not self._closing.wait(self.interval):
            self._flush(self._drain())
        self._flush(self._drain())

    def _flush(self, pending: list[Prediction]) -> None:
        chunks = by_partition(pending)
        for done, (partition, chunk) in enumerate(chunks):
            try:
                write_chunk(self.data_dir, partition, chunk)
            except Exception:
                # Kept for the next flush: a full disk must not lose predictions, and nothing
                # may end this thread while serving goes on queueing. Only the chunks not yet
                # written go back: those written are in the log once already.
                self.failures += 1
                for _, unwritten in chunks[done:]:
                    self._queue.put(unwritten)
                return
            self.written += len(chunk)
            crash_point("predictions.flush")

    def close(self, timeout: float = 30.0) -> None:
        self._closing.set()
        self._thread.join(timeout)
