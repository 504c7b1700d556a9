"""Window features over 1M events and the online write of 50k vectors: figures, not tests.

    uv run python bench/features_online.py [--events 1000000] [--entities 50000]
        [--example shop|energy]

On a project made from `examples/<example>/ct.yaml`, over events its generator writes (shop:
customers re-drawn Zipf-skewed over `--entities`, every one seen at least once), validated as the
pipeline validates them. Prints events/s and peak memory for the declared point-in-time window
features alone (Polars) and for the whole features step's computation (`build_features`: row
features, transforms, windows, label, slices), and vectors/s for writing each entity's latest
vector of the declared feature set (`latest_vectors`) to Redis on localhost (pipelined) and to
the local SQLite store. Energy has no entity: no window features and no online vectors, so only
`build_features` is measured.
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from common import example_project, peak_rss_mib

from ct_assets.ml.feature_spec import window_features, window_spec
from ct_assets.ml.features import build_features, with_row_ids
from ct_assets.ml.frames import ENTITY, ROW_ID, TIME
from ct_assets.ml.online import latest_vectors
from ct_assets.ml.schema import validate_batch
from ct_assets.project.spec import ProjectSpec
from resources.online_store import RedisOnlineStore, SqliteOnlineStore

START = date(2026, 1, 1)
DAYS = 14


def make_events(example: str, spec: ProjectSpec, events: int, entities: int) -> pd.DataFrame:
    """DAYS days of the example's events, one validated batch a day, as the features step reads
    them."""
    module = importlib.import_module(f"examples.{example}.generator")
    per_day = -(-events // DAYS)
    source = module.demo_source(START, per_day, drift_day=100)
    frame = pd.concat([source.day(i) for i in range(DAYS)], ignore_index=True).head(events)
    if spec.dataset.entity:
        # Zipf-skewed activity: a few customers are very busy, most are seen a handful of times.
        rng = np.random.default_rng(7)
        who = (rng.zipf(1.3, len(frame)) - 1) % entities
        who[:entities] = rng.permutation(entities)  # every entity is seen at least once
        frame[spec.dataset.entity] = [f"c{w:06d}" for w in who]
    batches = []
    for i in range(-(-len(frame) // per_day)):
        rows = frame.iloc[i * per_day : (i + 1) * per_day].reset_index(drop=True)
        outcome = validate_batch(rows, source.day_name(i), spec)
        assert outcome.frame is not None, outcome.reason()
        batches.append(with_row_ids(outcome.frame, f"b-{i}", spec))
    return pd.concat(batches, ignore_index=True)


def bench_windows(events: pd.DataFrame, spec: ProjectSpec) -> pd.DataFrame:
    windows = window_spec(spec)
    if windows.features:
        # The frame the features step hands to Polars: keys under ct's names, source columns.
        sources = sorted({f.source for f in windows.features})
        canonical = pd.DataFrame(
            {
                ROW_ID: events[ROW_ID],
                ENTITY: events[spec.dataset.entity].astype(str),
                TIME: events[spec.dataset.time],
                **{c: events[c] for c in sources},
            }
        )
        window_features(canonical.head(1000), windows)  # warm Polars' thread pool
        started = time.perf_counter()
        out = window_features(canonical, windows)
        seconds = time.perf_counter() - started
        entities = events[spec.dataset.entity].nunique()
        print(
            f"window features: {len(events):,} events, {entities:,} entities, "
            f"{len(out.columns)} declared features (Polars, {os.cpu_count()} cores)"
        )
        print(
            f"  {seconds:.2f} s  {len(events) / seconds:,.0f} events/s  "
            f"peak RSS {peak_rss_mib():,.0f} MiB"
        )
    else:
        print(f"window features: none declared ({spec.name} has no entity)")
    build_features(events.head(1000), spec)
    started = time.perf_counter()
    features = build_features(events, spec)
    seconds = time.perf_counter() - started
    print(
        f"build_features (the features step's computation): {len(spec.feature_names)} features, "
        f"{len(spec.slice_columns)} slice columns"
    )
    print(
        f"  {seconds:.2f} s  {len(events) / seconds:,.0f} events/s  "
        f"peak RSS {peak_rss_mib():,.0f} MiB"
    )
    return features


def bench_online(features: pd.DataFrame, spec: ProjectSpec) -> None:
    if not spec.dataset.entity:
        print("online write: skipped, no entity (serving requests carry every feature)")
        return
    started = time.perf_counter()
    batch = latest_vectors(features, spec)
    built = time.perf_counter() - started
    count = len(batch)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteOnlineStore(path=str(Path(tmp) / "online.sqlite"))
        started = time.perf_counter()
        sqlite.write(batch)
        seconds = time.perf_counter() - started
    print(
        f"online write, {count:,} vectors of {len(spec.feature_names)} features "
        f"(built from the features in {built:.2f} s):"
    )
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--example", choices=["shop", "energy"], default="shop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        changes = {"partitions": {"start": START.isoformat()}}
        spec = example_project(args.example, Path(tmp) / args.example, changes).spec
    events = make_events(args.example, spec, args.events, min(args.entities, args.events))
    features = bench_windows(events, spec)
    bench_online(features, spec)


if __name__ == "__main__":
    main()
