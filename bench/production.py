"""Production storage against local disk: ingest to S3 vs a folder, and a backfill of the ingest
job on PostgreSQL + S3 vs SQLite + local files.

Prints figures; asserts nothing. Run: `uv run --locked python bench/production.py [--days 90]
[--rows-per-day 500] [--ingest-days 20] [--ingest-rows 20000] [--part ingest|backfill|both]
[--pooler 127.0.0.1:6432]`.
Goals (issue 15): ingest rows/s to S3 vs local disk, reported; the 90-partition backfill's wall
time on production storage <= 1.3x local's.

Every service is on localhost: moto's S3 server as its own process, spoken to over HTTP (its
endpoint directly, no proxy in between), and PostgreSQL on 127.0.0.1:5432 (fresh databases,
dropped after). Both backfills run under the same run limits from ct.yaml (`runs:`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml
from common import example_project, validated_day
from sqlalchemy.engine import make_url

from ct_assets.ingest.files import Location, data_root, write_whole
from ct_assets.ml.features import build_features
from ct_assets.names import FILE_DROP
from examples.shop.generator import demo_source
from resources.environments import Environment, resolve
from resources.storage import BatchStore, Delivery
from tests.conftest import START, write_project
from tests.production import (
    BUCKET,
    BackfillOutcome,
    deploy_production,
    production_environ,
    run_backfill,
)
from tests.services import (
    AWS_TEST_CREDENTIALS,
    MlflowServer,
    MotoProcess,
    S3Server,
    fresh_databases,
)

# The ingest job reads no model, but sensors that run beside a backfill do (rollback_sensor is
# not among the ones run_backfill stops): on an address nobody answers, as in test_production,
# their ticks wait on MLflow's retries in the code server. `--no-mlflow-server` measures that.
UNUSED_TRACKING_URI = "http://127.0.0.1:9"
MLFLOW_BUCKET = "mlflow"
# Variables that would make the local project something else than local.
NOT_LOCAL = ("CT_", "DAGSTER_HOME", "MLFLOW_TRACKING_URI")


@contextmanager
def moto_endpoint(root: Path, *buckets: str) -> Iterator[S3Server]:
    """moto's S3 server process with `buckets` made. The bench's own clients use `moto.url`
    directly: S3Server's switchable proxy is a relay in this process, kept only for an MLflow
    server (MlflowServer reaches S3 through it)."""
    moto = MotoProcess(root / "moto.log")
    s3 = S3Server(moto)
    try:
        for bucket in buckets:
            s3.make_bucket(bucket)
        yield s3
    finally:
        s3.close()
        moto.stop()


def load_figures() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


# -- 1. ingest rows/s ------------------------------------------------------------------------


@dataclass
class Timed:
    where: str
    seconds: float
    rows: int
    size: int

    def line(self) -> str:
        rows_s = self.rows / self.seconds
        mib_s = self.size / 2**20 / self.seconds
        return f"  {self.where:<34} {self.seconds:8.2f} {rows_s:>12,.0f} {mib_s:>9.1f}"


def deliveries(days: int, rows: int, offset: int = 0) -> list[tuple[Delivery, list[str]]]:
    """The shop generator's day files as CSV bytes, each delivered as a file drop would."""
    source = demo_source(START, rows)
    made = []
    for index in range(offset, offset + days):
        frame = source.day(index)
        name = source.day_name(index)
        delivery = Delivery(
            data=frame.to_csv(index=False).encode(),
            file_name=name,
            source=FILE_DROP,
            source_ref=f"bench/landing/{name}",
            arrived_at=datetime.now(UTC),
            rows=len(frame),
        )
        made.append((delivery, [(START + timedelta(days=index)).isoformat()]))
    return made


def time_ingest(where: str, store: BatchStore, batches: list[tuple[Delivery, list[str]]]) -> Timed:
    # The first request pays for the client and its connections, once per process.
    for delivery, partitions in deliveries(1, 10, offset=len(batches) + 1):
        store.ingest(delivery, partitions)
    start = time.perf_counter()
    for delivery, partitions in batches:
        _, is_new = store.ingest(delivery, partitions)
        assert is_new, delivery.file_name
    seconds = time.perf_counter() - start
    rows = sum(d.rows or 0 for d, _ in batches)
    return Timed(where, seconds, rows, sum(len(d.data) for d, _ in batches))


def time_feature_writes(where: str, root: Location, frames: dict[str, pd.DataFrame]) -> Timed:
    """What the Parquet io manager does per partition: the frame written whole, then published."""
    folder = root / "features"
    first = next(iter(frames.values()))
    write_whole(folder / "warm.parquet", lambda target: first.to_parquet(target, index=False))
    start = time.perf_counter()
    for partition, frame in frames.items():
        write_whole(
            folder / f"{partition}.parquet",
            lambda target, frame=frame: frame.to_parquet(target, index=False),
        )
    seconds = time.perf_counter() - start
    size = sum((folder / f"{p}.parquet").stat().st_size for p in frames)
    return Timed(where, seconds, sum(len(f) for f in frames.values()), size)


def print_table(title: str, local: Timed, s3: Timed) -> None:
    print(title)
    print(f"  {'where':<34} {'seconds':>8} {'rows/s':>12} {'MiB/s':>9}")
    print(local.line())
    print(s3.line())
    print(f"  S3 takes {s3.seconds / local.seconds:.2f}x local's time")


def bench_ingest(root: Path, days: int, rows: int) -> None:
    batches = deliveries(days, rows)
    size_mib = sum(len(d.data) for d, _ in batches) / 2**20
    project = example_project("shop", root / "shop", {"partitions": {"start": START.isoformat()}})
    source = demo_source(START, rows)
    frames = {
        partitions[0]: build_features(validated_day(source, index, project.spec), project.spec)
        for index, (_, partitions) in enumerate(batches)
    }
    with moto_endpoint(root, "ct-bench") as s3:
        endpoint = s3.moto.url
        s3_url = "s3://ct-bench/data"
        on_s3 = f"{s3_url} (moto, HTTP)"
        local = time_ingest("local folder", BatchStore(base_dir=str(root / "data")), batches)
        s3 = time_ingest(on_s3, BatchStore(base_dir=s3_url, endpoint_url=endpoint), batches)
        print_table(
            f"raw layer BatchStore.ingest: {days} day files x {rows:,} rows "
            f"(shop CSV, {size_mib:.1f} MiB; bytes + manifest + partition index each):",
            local,
            s3,
        )
        local = time_feature_writes("local folder", data_root(str(root / "data")), frames)
        s3 = time_feature_writes(on_s3, data_root(s3_url, endpoint), frames)
        columns = len(next(iter(frames.values())).columns)
        print_table(
            f"features Parquet write (write_whole, as the io manager): {len(frames)} frames x "
            f"{rows:,} rows x {columns} columns:",
            local,
            s3,
        )


# -- 2. the backfill -------------------------------------------------------------------------


def local_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(NOT_LOCAL)}


def limit_local_runs(environment: Environment) -> None:
    """The local instance with production's run limits: local's dagster.yaml does not render
    ct.yaml's `runs:`, and a comparison of storage must not also be one of queues."""
    rendered = Environment("production", environment.project, {}).instance_config()
    config = environment.instance_config()
    config["concurrency"] = rendered["concurrency"]
    home = environment.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    # prepare_instance keeps a local dagster.yaml that is already there.
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def summary(name: str, outcome: BackfillOutcome) -> str:
    statuses = Counter(r.status for r in outcome.runs)
    runs = len(outcome.runs)
    per_run = sum(r.end - r.start for r in outcome.runs) / max(runs, 1)
    return (
        f"  {name:<24} {outcome.wall_seconds:8.1f} {runs / outcome.wall_seconds * 60:9.1f} "
        f"{per_run:8.1f} {outcome.max_concurrent:6d}   "
        + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    )


def backfill_local(
    root: Path, days: int, rows: int, limits: dict[str, int], timeout: float
) -> BackfillOutcome:
    project = write_project(root / "shop-project", "shop", {"runs": limits})
    environment = resolve(project, local_environ())
    limit_local_runs(environment)
    source = demo_source(START, rows, 100)
    project.landing_dir.mkdir(parents=True, exist_ok=True)
    for index in range(days):
        (project.landing_dir / source.day_name(index)).write_bytes(
            source.day(index).to_csv(index=False).encode()
        )
    partitions = [(START + timedelta(days=i)).isoformat() for i in range(days)]
    return run_backfill(environment, partitions, timeout)


@contextmanager
def tracking_server(
    s3: S3Server, new_database: Callable[[], str], log: Path, wanted: bool
) -> Iterator[str]:
    """An MLflow server on PostgreSQL and S3, as production has; its URI (or the unused one)."""
    if not wanted:
        yield UNUSED_TRACKING_URI
        return
    server = MlflowServer(new_database(), s3, MLFLOW_BUCKET, log)
    server.start()
    try:
        yield server.tracking_uri
    finally:
        server.stop()


def through_pooler(url: str, pooler: str | None) -> str:
    """Dagster's storage URL reaching the same database through a connection pooler."""
    if pooler is None:
        return url
    host, _, port = pooler.rpartition(":")
    return make_url(url).set(host=host, port=int(port)).render_as_string(hide_password=False)


def backfill_production(
    root: Path,
    days: int,
    rows: int,
    limits: dict[str, int],
    timeout: float,
    with_mlflow: bool,
    pooler: str | None,
) -> BackfillOutcome:
    root.mkdir(parents=True, exist_ok=True)
    with (
        moto_endpoint(root, BUCKET, MLFLOW_BUCKET) as s3,
        fresh_databases() as new_database,
        tracking_server(s3, new_database, root / "mlflow.log", with_mlflow) as tracking_uri,
    ):
        environ = production_environ(new_database(), s3.moto.url, tracking_uri)
        url = environ["CT_DAGSTER_POSTGRES_URL"]
        environ["CT_DAGSTER_POSTGRES_URL"] = through_pooler(url, pooler)
        # deploy_production and the S3 landing's writer read the process environment.
        os.environ.update(environ)
        try:
            deployed = deploy_production(root, environ, changes={"runs": limits}, rows_per_day=rows)
            try:
                for index in range(days):
                    deployed.drop_day(index)
                partitions = [deployed.deployment.partition(i) for i in range(days)]
                return run_backfill(deployed.environment, partitions, timeout)
            finally:
                deployed.instance.dispose()
        finally:
            for name in environ:
                os.environ.pop(name, None)


def bench_backfill(
    root: Path,
    days: int,
    rows: int,
    limits: dict[str, int],
    timeout: float,
    with_mlflow: bool,
    pooler: str | None,
) -> None:
    print(f"before: {load_figures()}")
    local = backfill_local(root / "local", days, rows, limits, timeout)
    production = backfill_production(
        root / "production", days, rows, limits, timeout, with_mlflow, pooler
    )
    print(f"after:  {load_figures()}")
    print(
        f"`ingest` job backfill (landing -> raw -> validated -> features), {days} partitions x "
        f"{rows:,} rows, runs: max_concurrent {limits['max_concurrent']}, backfills "
        f"{limits['backfills']}:"
    )
    print(f"  {'environment':<24} {'wall s':>8} {'runs/min':>9} {'run s':>8} {'most':>6}   runs")
    print(summary("local (SQLite, disk)", local))
    tracking = "MLflow server on PG + S3" if with_mlflow else f"MLflow {UNUSED_TRACKING_URI}, down"
    if pooler is not None:
        tracking += f"; Dagster's PostgreSQL through the pooler at {pooler}"
    print(summary("production (PG, S3)", production) + f"   ({tracking})")
    ratio = production.wall_seconds / local.wall_seconds
    print(f"  production / local wall time: {ratio:.2f}x (goal <= 1.3x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["ingest", "backfill", "both"], default="both")
    parser.add_argument("--days", type=int, default=90, help="partitions of the backfill")
    parser.add_argument("--rows-per-day", type=int, default=500, help="rows of a backfill day")
    parser.add_argument("--ingest-days", type=int, default=20)
    parser.add_argument("--ingest-rows", type=int, default=20_000, help="rows of an ingest day")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--backfills", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per backfill")
    parser.add_argument(
        "--no-mlflow-server",
        action="store_true",
        help="production's tracking URI an address nobody answers (no MLflow server)",
    )
    parser.add_argument(
        "--pooler",
        metavar="HOST:PORT",
        help="reach Dagster's PostgreSQL through a connection pooler there (PgBouncer in session "
        "mode in front of the same server): dagster-postgres opens a connection per query",
    )
    parser.add_argument("--keep", type=Path, help="work here and keep it (logs, instances)")
    args = parser.parse_args()
    # A bench, not the product: moto accepts any credentials, and boto reads these.
    os.environ.update(AWS_TEST_CREDENTIALS)
    limits = {"max_concurrent": args.max_concurrent, "backfills": args.backfills}
    with tempfile.TemporaryDirectory(prefix="ct-bench-production-") as scratch:
        tmp = args.keep or scratch
        if args.part in ("ingest", "both"):
            bench_ingest(Path(tmp) / "ingest", args.ingest_days, args.ingest_rows)
        if args.part in ("backfill", "both"):
            root = Path(tmp) / "backfill"
            mlflow = not args.no_mlflow_server
            bench_backfill(
                root, args.days, args.rows_per_day, limits, args.timeout, mlflow, args.pooler
            )


if __name__ == "__main__":
    main()
