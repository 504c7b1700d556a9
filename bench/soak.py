"""Soak: a Redis stream fed at a steady rate for many minutes, the real daemon beside it.

    uv run --locked python bench/soak.py --minutes 30 --rate 10000 --granularity 5-minute

What it builds: a temporary project from an example (`energy` by default: one event is one meter
reading, label included, no entity) whose only source is a Redis stream read through a consumer
group, with short partitions starting where the partition now under way began, so partitions
complete during the soak. Event times are the wall clock of the feed. It starts `ct up --serve`
(dagster-daemon, code server, run workers, the serving process) in its own session, a feeder
process that XADDs at `--rate` events/s (pipelined, paced every 50 ms; the rate it reached is
measured), and a light serving load (`--serve-rps` requests/s on /predict from the start;
refusals are counted by the field they name, with the minute of the last). Every `--sample`
seconds it records: events fed, events landed in raw (the raw batch manifests), the stream
backlog (entries not yet acknowledged by the consumer group), the RSS of every process `ct up`
started (found by a variable in their environment), and partitions landed and decided. The
stream is trimmed to its oldest unacknowledged entry as it goes, as an operator would (an
acknowledged entry is in raw already; untrimmed, 18M entries fill Redis).

The project, and why:
- `training.window: 1`, `training.windows: [1]`, one family (`lightgbm`), `training.max_rows:
  300000`: a 5-minute partition at 10k/s holds 3M rows, and the machine has 2 cores. Measured
  on a first run with every row: training_window 64 s and candidate_models 136 s (LightGBM and
  its MLflow logging 102 s) for a 2.4M-row partition, validated_batches 153 s, 10 minutes from
  the partition's end to its decision, so 5-minute partitions fell behind. Four families over
  three windows would train twelve models per partition. Every row is still landed, validated,
  featurized, scored by the champion and checked for drift; only training draws.
- `drift.max_rows: 200000`: the first 30-minute soak spent a median 488 s per partition in
  feature_drift over every row (3.0M against 1.6M: 100 s alone; 200k a side: 9 s).
- `policy.retrain.triggers: [every_partition]`: every partition gets a production_model decision
  (promote or keep), which is what "every partition decided" asks for.
- the example's gates, drift and quality rules as they are.

At the end it prints the figures and exits non-zero if a partition that was fed was skipped (no
raw_batches) or left undecided (no production_model) once the feed stopped and `--grace`
minutes passed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import requests
from common import example_project

from ct_assets.cli.processes import processes_with
from ct_assets.names import PRODUCTION_MODEL, RAW_BATCHES
from ct_assets.project.load import Project
from ct_assets.project.spec import GRANULARITIES, PERIODS, Period

MARKER = "CT_SOAK_BENCH"  # in the environment of everything `ct up` starts
REDIS_URL = "redis://localhost:6379/0"
PACE_SECONDS = 0.05
CHUNK = 2_000  # XADDs per pipeline round trip
# Rows a model is trained and held out on (a uniform draw of the partition): see the docstring.
MAX_TRAINING_ROWS = 300_000
# Rows compared on each side of the drift (a uniform draw): see the docstring.
MAX_DRIFT_ROWS = 200_000


# -- the feed --------------------------------------------------------------------------------------


def templates(example: str, count: int = 20_000) -> list[str]:
    """Event bodies without their time, from the example's generator: '{...,"timestamp": '."""
    if example != "energy":
        raise SystemExit(
            "only the energy example is wired for the soak (its events need no entity)"
        )
    from examples.energy.generator import MeterSource

    frame = MeterSource(start=datetime(2026, 1, 1).date(), rows_per_day=count).day(0)
    frame = frame.drop(columns=["timestamp"])
    return [json.dumps(r, default=str)[:-1] + ', "timestamp": ' for r in frame.to_dict("records")]


def feed(
    stream: str, rate: float, seconds: float, sent: Any, took: Any, stop: Any, bodies: list[str]
) -> None:
    """XADD `rate` events a second for `seconds`, each stamped with the wall clock it is sent at.

    Paced on the elapsed time, so a slow round trip is caught up at the next one rather than
    lost: the rate reached is what the count says.
    """
    client = redis.Redis.from_url(REDIS_URL)
    started = time.time()
    count = 0
    while not stop.is_set():
        now = time.time()
        if now - started >= seconds:
            break
        due = int((now - started) * rate) - count
        while due > 0:
            n = min(due, CHUNK)
            stamp = str(int(time.time()))
            pipe = client.pipeline(transaction=False)
            for i in range(count, count + n):
                pipe.xadd(stream, {"event": bodies[i % len(bodies)] + stamp + "}"})
            pipe.execute()
            count += n
            due -= n
            sent.value = count
            took.value = time.time() - started
        time.sleep(max(0.0, PACE_SECONDS - (time.time() - now)))
    client.close()


def trim_acknowledged(client: redis.Redis, stream: str, group: str) -> int:
    """Entries not yet acknowledged by the group (the backlog); everything older is trimmed."""
    groups = {g["name"].decode(): g for g in client.xinfo_groups(stream)}
    if group not in groups:
        return int(client.xlen(stream))
    info = groups[group]
    pending = client.xpending(stream, group)
    oldest = pending["min"] if pending["pending"] else info["last-delivered-id"]
    oldest = oldest.decode() if isinstance(oldest, bytes) else oldest
    if oldest and oldest != "0-0":
        client.xtrim(stream, minid=oldest, approximate=True)
    lag = info.get("lag")
    unread = int(lag) if lag is not None else 0
    return unread + int(pending["pending"])


# -- what the project did ------------------------------------------------------------------------


@dataclass
class Landed:
    """Raw batches of the stream seen so far (manifests read once each)."""

    seen: set[str] = field(default_factory=set)
    rows: int = 0
    lags: list[float] = field(default_factory=list)  # oldest event of a batch fed -> landed

    def update(self, raw: Path) -> None:
        batches = raw / "batches"
        if not batches.exists():
            return
        for folder in batches.iterdir():
            if folder.name in self.seen or not (folder / "manifest.json").exists():
                continue
            manifest = json.loads((folder / "manifest.json").read_text())
            self.seen.add(folder.name)
            self.rows += int(manifest.get("rows") or 0)
            first = (manifest.get("source_details") or {}).get("first_id")
            if first:
                fed = int(first.split("-")[0]) / 1000
                at = datetime.fromisoformat(manifest["ingested_at"]).timestamp()
                self.lags.append(at - fed)


def kind_of(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    for needle, kind in (
        (" up --project", "ct up"),
        ("dagster-daemon", "daemon"),
        ("api grpc", "code server"),
        ("execute_run", "run worker"),
        ("execute_step", "run worker"),
        ("multiprocessing", "run step"),
        ("serve", "serve"),
        ("dagster-webserver", "ui"),
    ):
        if needle in command:
            return kind
    return "other"


def rss_mib(pid: int) -> float:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_by_kind(marker: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid in processes_with(MARKER, marker):
        kind = kind_of(pid)
        out[kind] = out.get(kind, 0.0) + rss_mib(pid)
    return out


def recorded_at(instance: Any, asset: str, partition: str) -> float | None:
    from ct_assets.reads.observe import materialization_record

    record = materialization_record(instance, asset, partition)
    return None if record is None else float(record["at"])


@dataclass
class Sample:
    at: float
    fed: int
    landed: int
    backlog: int
    rss: dict[str, float]
    landed_partitions: int
    decided: int


# -- the run -------------------------------------------------------------------------------------


def step_seconds(instance: Any, keys: list[str]) -> dict[str, list[float]]:
    """Step -> its run time in each partition's runs (where a partition's time went)."""
    import dagster as dg

    out: dict[str, list[float]] = {}
    for key in keys:
        runs = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/partition": key}))
        for record in runs:
            started: dict[str, float] = {}
            for entry in instance.all_logs(record.dagster_run.run_id):
                event = entry.dagster_event
                if event is None or event.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    started[event.step_key] = entry.timestamp
                elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
                    took = entry.timestamp - started[event.step_key]
                    out.setdefault(event.step_key, []).append(took)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_project(args: argparse.Namespace, root: Path, stream: str, start: datetime) -> Project:
    return example_project(
        args.example,
        root,
        {
            "partitions": {"granularity": args.granularity, "start": f"{start:%Y-%m-%dT%H:%M}"},
            "training": {
                "window": 1,
                "windows": [1],
                "families": ["lightgbm"],
                "max_rows": MAX_TRAINING_ROWS,
            },
            "policy": {"retrain": {"triggers": ["every_partition"]}},
            "drift": {"max_rows": MAX_DRIFT_ROWS},
            "sources": {
                "poll_interval": "2s",
                "redis_stream": {"stream": stream, "group": "ct", "consumer": "ct-ingest"},
            },
        },
    )


def start_ct(project: Project, marker: str, port: int) -> tuple[subprocess.Popen[bytes], Any]:
    ct = Path(sys.executable).with_name("ct")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CT_", "MLFLOW_", "AWS_")) and k != "DAGSTER_HOME"
    }
    env.update({MARKER: marker, "CT_REDIS_URL": REDIS_URL, "PYTHONUNBUFFERED": "1"})
    log = (project.root / "ct-up.log").open("ab")
    command = [str(ct) if ct.exists() else "ct", "up", "--project", str(project.root)]
    command += ["--serve", "--serve-port", str(port)]
    proc = subprocess.Popen(
        command,
        cwd=project.root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while not (project.dagster_home / "dagster.yaml").exists():
        if proc.poll() is not None or time.time() > deadline:
            stop_ct(proc, marker)
            raise SystemExit(f"ct up did not start: see {project.root / 'ct-up.log'}")
        time.sleep(0.5)
    # The daemon creates the instance's tables first: a second process creating them at the
    # same moment leaves SQLite's schema with two heads.
    time.sleep(15)
    return proc, log


def stop_ct(proc: subprocess.Popen[bytes], marker: str) -> list[int]:
    """SIGINT to `ct up` (as Ctrl-C); its process group killed if it does not stop; then
    whatever it started and left running is killed and named."""
    with suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    left = processes_with(MARKER, marker)
    for pid in left:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def serving_load(port: int, rps: float, stop: threading.Event, counts: dict[str, int]) -> None:
    """A light steady load on /predict: one meter reading per request."""
    body = {
        "timestamp": 0,
        "temperature_c": 5.0,
        "humidity_pct": 70.0,
        "wind_kph": 10.0,
        "is_holiday": False,
        "weather": "clear",
        "occupancy": 100,
    }
    session = requests.Session()
    began = time.monotonic()
    while not stop.wait(1.0 / rps):
        body["timestamp"] = int(time.time())
        try:
            answer = session.post(f"http://127.0.0.1:{port}/predict", json=body, timeout=5)
            code, why = answer.status_code, _refused_field(answer)
        except requests.RequestException:
            code, why = 0, "no answer"
        key = "ok" if code == 200 else f"status {code} ({why})"
        counts[key] = counts.get(key, 0) + 1
        if code != 200:
            # When refusals happened: before the first champion, or while one served.
            minute = f"{key} last at min"
            counts[minute] = round((time.monotonic() - began) / 60, 1)


def _refused_field(answer: requests.Response) -> str:
    """The fields a refusal names (`ct serve` answers {"detail": [{"field": ...}, ...]})."""
    try:
        detail = answer.json().get("detail", [])
    except ValueError:
        return "not JSON"
    if not isinstance(detail, list):
        return str(detail)[:60]
    return ", ".join(sorted({str(p.get("field", "?")) for p in detail if isinstance(p, dict)}))


def partitions_fed(period: Period, start: datetime, fed_until: datetime) -> list[str]:
    """Keys of every partition holding fed events: from the first through the one the feed
    stopped in."""
    keys, moment = [], start
    while moment < fed_until:
        keys.append(period.key_at(moment))
        moment += period.length
    return keys


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C or a kill stops the feed and `ct up` before the figures are printed.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to feed")
    parser.add_argument("--rate", type=float, default=10_000.0, help="events per second")
    parser.add_argument("--granularity", choices=GRANULARITIES, default="5-minute")
    parser.add_argument("--example", default="energy")
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--serve-rps", type=float, default=5.0, help="0: no serving load")
    parser.add_argument(
        "--grace",
        type=float,
        default=None,
        help="minutes to wait after the feed for decisions (default: two partitions and 5 minutes)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the project folder")
    args = parser.parse_args(argv)
    period = PERIODS[args.granularity]
    grace = args.grace * 60 if args.grace is not None else 2 * period.length.total_seconds() + 300

    work = Path(tempfile.mkdtemp(prefix="ct-soak-"))
    marker, stream = uuid.uuid4().hex, f"ct:soak:{uuid.uuid4().hex[:8]}"
    start = period.begin(datetime.now(UTC))
    project = make_project(args, work / "project", stream, start)
    print(
        f"project {project.root}; stream {stream}; {args.granularity} partitions from {start:%H:%M}"
    )
    bodies = templates(args.example)
    client = redis.Redis.from_url(REDIS_URL)
    client.xgroup_create(stream, "ct", id="0", mkstream=True)
    port = free_port()
    proc, log = start_ct(project, marker, port)
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(project.dagster_home))
    sent, took, stop_feed = mp.Value("q", 0), mp.Value("d", 0.0), mp.Event()
    feeder = mp.Process(
        target=feed, args=(stream, args.rate, args.minutes * 60, sent, took, stop_feed, bodies)
    )
    stop_serving, served = threading.Event(), {}
    server = threading.Thread(
        target=serving_load, args=(port, args.serve_rps, stop_serving, served), daemon=True
    )
    samples: list[Sample] = []
    landed = Landed()
    raw = project.data_dir / "raw"
    began = time.time()
    feeder.start()
    if args.serve_rps > 0:
        server.start()
    fed_until: datetime | None = None
    ended_at = None
    keys: list[str] = []
    decided_at: dict[str, float] = {}
    raw_at: dict[str, float] = {}

    def observe() -> Sample:
        landed.update(raw)
        backlog = trim_acknowledged(client, stream, "ct")
        now = datetime.now(UTC)
        elapsed = partitions_fed(period, start, fed_until or now)
        for key in elapsed:
            if key not in raw_at and (at := recorded_at(instance, RAW_BATCHES, key)):
                raw_at[key] = at
            if key not in decided_at and (at := recorded_at(instance, PRODUCTION_MODEL, key)):
                decided_at[key] = at
        sample = Sample(
            time.time() - began,
            int(sent.value),
            landed.rows,
            backlog,
            rss_by_kind(marker),
            len(raw_at),
            len(decided_at),
        )
        samples.append(sample)
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(sample.rss.items()))
        print(
            f"t={sample.at:6.0f}s fed {sample.fed:>10,} landed {sample.landed:>10,} "
            f"backlog {backlog:>9,} partitions landed {len(raw_at)} decided {len(decided_at)} "
            f"| RSS MiB {rss}",
            flush=True,
        )
        return sample

    cut_short = False
    try:
        while True:
            time.sleep(args.sample)
            if proc.poll() is not None:
                print(f"ct up exited ({proc.returncode}): see {project.root / 'ct-up.log'}")
                break
            observe()
            if fed_until is None and not feeder.is_alive():
                fed_until = datetime.now(UTC)
                ended_at = time.time()
                keys = partitions_fed(period, start, fed_until)
                print(
                    f"feed stopped; waiting up to {grace / 60:.0f} min for {len(keys)} partitions"
                )
            if fed_until is not None:
                if all(k in decided_at for k in keys):
                    break
                assert ended_at is not None
                if time.time() - ended_at > grace:
                    break
    except KeyboardInterrupt:
        cut_short = True
    finally:
        stop_feed.set()
        feeder.join(timeout=30)
        stop_serving.set()
        left = stop_ct(proc, marker)
        log.close()
        steps = step_seconds(instance, keys)
        instance.dispose()
    feed_seconds = max(float(took.value), 1e-9)
    fed = int(sent.value)
    return report(
        args,
        samples,
        landed,
        keys,
        raw_at,
        decided_at,
        period,
        (fed, feed_seconds),
        steps,
        served,
        left,
        cut_short,
        lambda: client.delete(stream),
        work if args.keep else None,
    )


def report(
    args: argparse.Namespace,
    samples: list[Sample],
    landed: Landed,
    keys: list[str],
    raw_at: dict[str, float],
    decided_at: dict[str, float],
    period: Period,
    feed: tuple[int, float],
    steps: dict[str, list[float]],
    served: dict[str, int],
    left: list[int],
    cut_short: bool,
    cleanup: Callable[[], Any],
    kept: Path | None,
) -> int:
    cleanup()
    fed, feed_seconds = feed
    skipped = [k for k in keys if k not in raw_at]
    undecided = [k for k in keys if k not in decided_at]

    def end_of(key: str) -> float:
        begin = datetime.strptime(key, period.key_format).replace(tzinfo=UTC)
        return (begin + period.length).timestamp()

    to_raw = [raw_at[k] - end_of(k) for k in keys if k in raw_at]
    to_decision = [decided_at[k] - end_of(k) for k in keys if k in decided_at]
    kinds = sorted({k for s in samples for k in s.rss})
    first, last = (samples[0], samples[-1]) if samples else (None, None)
    print("\n== soak ==")
    print(
        f"command: bench/soak.py --minutes {args.minutes:g} --rate {args.rate:g} "
        f"--granularity {args.granularity} --example {args.example}"
    )
    print(
        f"events fed {fed:,} in {feed_seconds / 60:.1f} min: {fed / feed_seconds:,.0f} events/s "
        f"sustained (target {args.rate:,.0f})"
    )
    print(f"events landed in raw {landed.rows:,} ({len(landed.seen)} batches)")
    print(
        f"partitions fed {len(keys)}, landed {len(raw_at)}, decided {len(decided_at)}; "
        f"not landed (no raw_batches run) {len(skipped)} {skipped or ''}, "
        f"undecided {len(undecided)} {undecided or ''}"
    )
    print(
        f"lag feed -> raw (oldest event of a batch): p50 {percentile(landed.lags, 0.5):.1f} s, "
        f"p95 {percentile(landed.lags, 0.95):.1f} s, max {percentile(landed.lags, 1.0):.1f} s"
    )
    print(
        f"lag partition end -> raw_batches: p95 {percentile(to_raw, 0.95):.0f} s; "
        f"-> decision: p50 {percentile(to_decision, 0.5):.0f} s, "
        f"p95 {percentile(to_decision, 0.95):.0f} s, max {percentile(to_decision, 1.0):.0f} s"
    )
    print(
        "backlog (unacknowledged stream entries) "
        f"max {max((s.backlog for s in samples), default=0):,}, "
        f"last {samples[-1].backlog if samples else 0:,}"
    )
    print(f"serving load: {served or 'none'}")
    print("step seconds per partition run (median / max / runs):")
    for step, took in sorted(steps.items(), key=lambda kv: -max(kv[1])):
        print(f"  {step:24} {percentile(took, 0.5):7.1f} {max(took):7.1f} {len(took):4}")
    print("RSS MiB per process kind: first sample / last sample / max")
    for kind in kinds:
        values = [s.rss.get(kind, 0.0) for s in samples]
        print(
            f"  {kind:12} {first.rss.get(kind, 0.0) if first else 0:7.0f} "
            f"{last.rss.get(kind, 0.0) if last else 0:7.0f} {max(values):7.0f}"
        )
    print("RSS over time (MiB, all processes):")
    step = max(1, len(samples) // 12)
    for s in samples[::step]:
        print(
            f"  t={s.at / 60:5.1f} min  {sum(s.rss.values()):7.0f}  "
            + ", ".join(f"{k} {v:.0f}" for k, v in sorted(s.rss.items()))
        )
    if left:
        print(f"LEFT RUNNING after ct up stopped (killed): {left}")
    if kept:
        print(f"project kept in {kept}")
    ok = not cut_short and not skipped and not undecided and bool(keys)
    print(
        "OK" if ok else "FAILED: a partition was skipped or undecided (or the soak was cut short)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
