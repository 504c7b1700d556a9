"""Window features over 1M events and the online write of 50k vectors: figures, not tests.

    uv run python bench/features_online.py [--events 1000000] [--entities 50000]

Prints events/s and peak memory for 12 point-in-time window features (3 windows x count, sum,
mean, std), and vectors/s for writing 50k entity vectors to Redis on localhost (pipelined) and
to the local SQLite store.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ct_assets.ml.feature_spec import FeatureSpec, WindowFeature, window_features
from ct_assets.ml.online import FeatureVector
from resources.online_store import RedisOnlineStore, SqliteOnlineStore


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_events(events: int, entities: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    # Zipf-skewed activity: a few entities are very busy, most are seen a handful of times.
    who = (rng.zipf(1.3, events) - 1) % entities
    who[:entities] = rng.permutation(entities)  # every entity is seen at least once
    start = datetime(2026, 1, 1, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 14 * 86_400, events))
    return pd.DataFrame(
        {
            "event_id": [f"e{i:09d}" for i in range(events)],
            "entity_id": [f"c{w:06d}" for w in who],
            "event_time": pd.to_datetime(start) + pd.to_timedelta(seconds, unit="s"),
            "amount": rng.gamma(2.0, 20.0, events).round(2),
        }
    )


def bench_windows(events: int, entities: int) -> None:
    spec = FeatureSpec(
        features=tuple(
            WindowFeature("amount", aggregation, window)
            for window in ("1h", "1d", "7d")
            for aggregation in ("count", "sum", "mean", "std")
        )
    )
    frame = make_events(events, entities)
    window_features(frame.head(1000), spec)  # warm Polars' thread pool
    started = time.perf_counter()
    out = window_features(frame, spec)
    seconds = time.perf_counter() - started
    print(
        f"window features: {events:,} events, {frame['entity_id'].nunique():,} entities, "
        f"{len(out.columns)} features (Polars, {os.cpu_count()} cores)"
    )
    print(
        f"  {seconds:.2f} s  {events / seconds:,.0f} events/s  peak RSS {peak_rss_mib():,.0f} MiB"
    )


def vectors(count: int) -> list[FeatureVector]:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    return [
        FeatureVector(
            entity=f"c{i:06d}",
            feature_set_id="fs-bench",
            event_time=now + timedelta(seconds=i),
            event_id=f"e{i:09d}",
            features={f"f{j}": float(i * j) for j in range(24)} | {"channel": "web"},
        )
        for i in range(count)
    ]


def bench_online(count: int) -> None:
    batch = vectors(count)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteOnlineStore(path=str(Path(tmp) / "online.sqlite"))
        started = time.perf_counter()
        sqlite.write(batch)
        seconds = time.perf_counter() - started
    print(f"online write, {count:,} vectors of 25 features:")
    print(f"  SQLite (local default)  {seconds:.2f} s  {count / seconds:,.0f} vectors/s")
    url = os.environ.get("CT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    import redis

    prefix = f"ct:bench:{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        print(f"  Redis: skipped, not reachable at {url} ({exc})")
        return
    store = RedisOnlineStore(url=url, prefix=prefix)
    try:
        started = time.perf_counter()
        store.write(batch)
        seconds = time.perf_counter() - started
        print(
            f"  Redis, a newer-only script call per 1,000 vectors, pipelined  "
            f"{seconds:.2f} s  {count / seconds:,.0f} vectors/s"
        )
    finally:
        for key in client.scan_iter(f"{prefix}*", count=10_000):
            client.delete(key)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=50_000)
    args = parser.parse_args()
    bench_windows(args.events, args.entities)
    bench_online(args.entities)
