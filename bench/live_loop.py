"""Do ct's decisions hold live? A newcomer's project fed a drifting stream one day at a time.

Prints figures; asserts nothing. Run from the repository:

    uv run --locked python bench/live_loop.py --stream agrawal            # 30 days x 3,000 rows
    uv run --locked python bench/live_loop.py --stream friedman --json    # regression role swap
    uv run --locked python bench/live_loop.py --stream harmless           # covariate drift only
    uv run --locked python bench/live_loop.py --stream sea --days 8 --mode daemon

What it does, as a user would:

1. Makes the stream's daily CSV files (`bench/live_streams.py`: River's generators, a change
   of concept at `--change-day`, every day's own weather).
2. `ct init --from <day 1> --label y` through ct's real CLI, and keeps ct.yaml as init wrote it
   (printed).
3. Feeds one day at a time. `--mode inprocess` (default): the file goes into landing/ and every
   partitioned asset of the day is materialized in this process on the project's persistent
   Dagster instance (`.ct/dagster_home`, as `ct up` prepares it), honouring the declared retrain
   policy: `every_partition` runs the whole graph; `drift`/`performance` run ingest and
   monitoring, then the retrain only when `retrain_reasons` (what the retrain sensor decides
   with) gives a reason. `served_performance` (it needs served requests) and the unpartitioned
   `live_performance` are left out. `--mode daemon`: `ct up` in a subprocess; each file is
   copied into landing/ and the bench waits, polling the instance, until the day's decision (or,
   without a retrain, its champion score and drift) has landed and nothing is running; at the
   end `ct up` gets SIGINT and the bench checks that no process it started is left.
4. Per partition: rows delivered / validated / quarantined, the decision and the champion after
   it, the champion's holdout figure, its **live** figure on the next partition
   (`champion_performance` of d+1, scored before d+1's retrain), the gap (holdout - live, in
   the metric's direction: positive = worse live), the drift share, and an **oracle**: bare
   LightGBM (ct's `LIGHTGBM_PARAMS`, `LIGHTGBM_ROUNDS`) trained on the row features (no
   calendar features) of the rows of d+1's concept delivered by day d, within `--window` days,
   scored on d+1. Then the summary: the gap on partitions where the world did not change, the
   partitions to recover after each change (live within 0.03 ROC AUC / 10 % RMSE of the oracle),
   promotions on days with no change, days quarantined, and per-stage (Dagster step) run times.

Nothing is sent anywhere but this machine: the project is local (SQLite instance, local MLflow
store, files), and ct's variables of this shell (CT_*, MLFLOW_TRACKING_URI) are not passed on.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
import numpy as np
import pandas as pd
from live_streams import ID, LABEL, STREAMS, TIME, Stream, StreamOptions

from ct_assets.cli.processes import processes_with
from ct_assets.ml.live_score import measured
from ct_assets.ml.loop import retrain_reasons
from ct_assets.ml.vocabulary import METRIC
from ct_assets.names import (
    CHAMPION_PERFORMANCE,
    FEATURE_DRIFT,
    PRODUCTION_MODEL,
    REASON_TAG,
    RETRAIN,
    RUN_KIND_TAG,
    SCHEMA_CHECK,
    SERVED_PERFORMANCE,
    TRAINING_RUNS,
    TRIGGER_TAG,
    VALIDATED_BATCHES,
)
from ct_assets.project.load import Project, load_project
from ct_assets.reads.observe import latest_check, latest_metadata, materialization_record

BINARY_GAP, BINARY_RECOVERY = 0.05, 0.03  # ROC AUC / log loss units
RELATIVE_GAP, RELATIVE_RECOVERY = 0.10, 0.10  # RMSE / MAE: a share of the reference
PARTITION_TAG = "dagster/partition"
MARKER = "CT_LIVE_LOOP_BENCH"  # in the environment of everything the daemon mode starts
STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}
IN_PROGRESS = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
}
NAN = float("nan")


# -- output ---------------------------------------------------------------------------------------


class Out:
    """Human lines go to stdout, or to stderr when stdout carries the JSON."""

    def __init__(self, as_json: bool) -> None:
        self.stream: TextIO = sys.stderr if as_json else sys.stdout

    def __call__(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


# -- the project as a user makes it ---------------------------------------------------------------


def local_environ() -> dict[str, str]:
    """This shell's environment without ct's and MLflow's variables: nothing points elsewhere."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CT_", "MLFLOW_", "AWS_")) and k != "DAGSTER_HOME"
    }


def ct_init(sample: Path, root: Path) -> tuple[int, str]:
    """`ct init --from sample --label y --out root` through ct's own CLI: (exit code, output)."""
    from io import StringIO

    from ct_assets.cli import main as ct_main

    captured = StringIO()
    with redirect_stdout(captured):
        code = ct_main(["init", "--from", str(sample), "--label", LABEL, "--out", str(root)])
    return code, captured.getvalue()


def drop(source: Path, landing: Path) -> None:
    """A day's file appears in landing/ whole: copied under a name ct skips, then renamed."""
    temporary = landing / f"_{source.name}.part"
    shutil.copyfile(source, temporary)
    temporary.rename(landing / source.name)


# -- reading what the pipeline recorded -----------------------------------------------------------


def run_records(instance: dg.DagsterInstance, partition: str) -> list[dg.RunRecord]:
    return list(instance.get_run_records(filters=dg.RunsFilter(tags={PARTITION_TAG: partition})))


def step_durations(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Each step's duration in one run (success or failure), from the run's events."""
    started: dict[str, float] = {}
    out: dict[str, float] = {}
    for event in instance.all_logs(run_id, of_type=STEP_EVENTS):
        key = event.step_key or "?"
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            started[key] = event.timestamp
        elif key in started:
            out[key] = event.timestamp - started[key]
    return out


def run_errors(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The failures a run recorded, step by step, with the error's own message."""
    errors = []
    for event in instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
    ):
        data = event.dagster_event.event_specific_data if event.dagster_event else None
        error = getattr(data, "error", None)
        text = error.to_string() if error is not None else (event.message or "failed")
        errors.append(f"{event.step_key or 'run'}: {text.strip()}")
    return errors


def reasons_for(project: Project, instance: dg.DagsterInstance, partition: str) -> list[Any]:
    """What the retrain sensor would decide for the partition (ct's own pure function)."""
    spec = project.spec
    return retrain_reasons(
        spec.policy,
        spec.metric,
        latest_metadata(instance, FEATURE_DRIFT, partition),
        latest_metadata(instance, CHAMPION_PERFORMANCE, partition),
    )


def every_partition(project: Project) -> bool:
    return "every_partition" in project.spec.policy.retrain.triggers


# -- in process -----------------------------------------------------------------------------------


@contextmanager
def project_environment(project: Project) -> Iterator[None]:
    """DAGSTER_HOME, CT_HOME and CT_PROJECT as `ct up` sets them for its processes; ct's and
    MLflow's other variables of this shell left out while the bench runs."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(local_environ())
    os.environ.update(
        {
            "DAGSTER_HOME": str(project.dagster_home),
            "CT_HOME": str(project.home),
            "CT_PROJECT": str(project.root),
        }
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class InProcess:
    """Every partitioned asset of a day, materialized in this process on the project's own
    persistent instance, as the declared policy would have them run."""

    def __init__(self, project: Project, out: Out) -> None:
        from ct_assets.cli.processes import prepare_instance
        from ct_assets.definitions import build_definitions
        from resources.environments import resolve

        self.project, self.out = project, out
        environment = resolve(project)
        prepare_instance(environment)
        self.instance = environment.instance()
        self.defs = build_definitions(project)
        self.job = self.defs.resolve_implicit_global_asset_job_def()
        graph = self.defs.resolve_asset_graph()
        self.partitioned = sorted(
            (
                key
                for key in graph.materializable_asset_keys
                if graph.get(key).partitions_def is not None
                and key.to_user_string() != SERVED_PERFORMANCE
            ),
            key=lambda k: k.to_user_string(),
        )

    def run(
        self, partition: str, keys: Sequence[dg.AssetKey], tags: Mapping[str, str] | None = None
    ) -> dg.ExecuteInProcessResult:
        return self.job.execute_in_process(
            partition_key=partition,
            instance=self.instance,
            asset_selection=list(keys),
            tags=dict(tags or {}),
            # The run's events go to the instance as always; the console shows only warnings.
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            raise_on_error=False,
        )

    def day(self, partition: str, source: Path) -> DayRun:
        started = time.time()
        drop(source, self.project.landing_dir)
        outcome = DayRun(partition)
        retrain = {dg.AssetKey(a) for a in RETRAIN}
        if every_partition(self.project):
            outcome.note(self.instance, self.run(partition, self.partitioned))
        else:
            first = [k for k in self.partitioned if k not in retrain]
            outcome.note(self.instance, self.run(partition, first))
            reasons = reasons_for(self.project, self.instance, partition)
            if reasons:
                tags = {
                    TRIGGER_TAG: "+".join(r.trigger for r in reasons),
                    REASON_TAG: "; ".join(r.text for r in reasons),
                    RUN_KIND_TAG: TRAINING_RUNS,
                }
                outcome.note(self.instance, self.run(partition, sorted(retrain, key=str), tags))
        outcome.seconds = time.time() - started
        return outcome

    def close(self) -> None:
        self.instance.dispose()


@dataclass
class DayRun:
    """What the bench saw of one day's runs."""

    partition: str
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def note(self, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
        if not result.success:
            self.errors.extend(run_errors(instance, result.run_id))


# -- the daemon -----------------------------------------------------------------------------------


class Daemon:
    """`ct up` in a subprocess, files copied into landing/ one at a time, the instance polled."""

    def __init__(self, project: Project, out: Out, timeout: float) -> None:
        self.project, self.out, self.timeout = project, out, timeout
        self.marker = uuid.uuid4().hex
        self.leftovers: list[int] = []
        self.settle = max(60.0, 4.0 * project.poll_seconds)
        ct = Path(sys.executable).with_name("ct")
        env = {**local_environ(), MARKER: self.marker, "PYTHONUNBUFFERED": "1"}
        self.log_path = project.root / "ct-up.log"
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(ct) if ct.exists() else "ct", "up", "--project", str(project.root)],
            cwd=project.root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        home = project.dagster_home
        deadline = time.time() + 120
        try:
            while not (home / "dagster.yaml").exists():
                if self.proc.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"ct up did not start: see {self.log_path}")
                time.sleep(0.5)
            time.sleep(5)  # the daemon loads the code location before its first tick
        except BaseException:
            self.stop()
            raise
        self.instance = dg.DagsterInstance.from_config(str(home))

    def day(self, partition: str, source: Path) -> DayRun:
        started = time.time()
        drop(source, self.project.landing_dir)
        outcome = DayRun(partition)
        needed = [CHAMPION_PERFORMANCE, FEATURE_DRIFT]
        if every_partition(self.project):
            needed.append(PRODUCTION_MODEL)
        quiet_since: float | None = None
        judged = False
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"ct up exited ({self.proc.returncode}): see {self.log_path}")
            landed = {a: self._since(a, partition, started) for a in needed}
            if not judged and not every_partition(self.project) and all(landed.values()):
                judged = True
                if reasons_for(self.project, self.instance, partition):
                    needed.append(PRODUCTION_MODEL)
                    continue
            runs = run_records(self.instance, partition)
            busy = any(r.dagster_run.status in IN_PROGRESS for r in runs)
            if all(landed.values()) and not busy:
                break
            now = time.time()
            quiet_since = None if busy else (quiet_since or now)
            if quiet_since is not None and runs and now - quiet_since > self.settle:
                outcome.errors.append(
                    f"gave up waiting for {', '.join(a for a, ok in landed.items() if not ok)} "
                    f"after {self.settle:.0f} s with nothing running"
                )
                break
            if now - started > self.timeout:
                outcome.errors.append(f"timed out after {self.timeout:.0f} s")
                break
            time.sleep(1.0)
        for record in run_records(self.instance, partition):
            if record.dagster_run.status == dg.DagsterRunStatus.FAILURE:
                outcome.errors.extend(run_errors(self.instance, record.dagster_run.run_id))
        outcome.seconds = time.time() - started
        return outcome

    def _since(self, asset: str, partition: str, since: float) -> bool:
        record = materialization_record(self.instance, asset, partition)
        return record is not None and record["at"] >= since

    def close(self) -> None:
        self.instance.dispose()
        self.stop()

    def stop(self) -> None:
        """SIGINT to `ct up` (as Ctrl-C), then make sure nothing it started is left."""
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=90)
            self.out(f"ct up stopped by SIGINT, exit code {code}")
        except subprocess.TimeoutExpired:
            self.out("ct up did not stop within 90 s of SIGINT: killing its process group")
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()
        left = processes_with(MARKER, self.marker)
        if left:
            self.out(f"LEFT RUNNING after ct up stopped: {describe(left)}; killing them")
            for pid in left:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            self.out("no process started by ct up is left running")
        self.leftovers = left


def describe(pids: list[int]) -> str:
    out = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = "?"
        out.append(f"{pid} ({command.strip()[:80]})")
    return ", ".join(out)


# -- the oracle -----------------------------------------------------------------------------------


def oracle_scores(
    stream: Stream, days: list[pd.DataFrame], window: int, metric: str
) -> dict[int, float]:
    """Day d+1 -> bare LightGBM's score on it, trained on the rows of d+1's concept delivered by
    day d (within `window` days; 0: all of them), row features only."""
    import lightgbm as lgb

    from ct_assets.ml.families.lightgbm import LIGHTGBM_ROUNDS, lightgbm_params

    features = [c for c in days[0].columns if c not in (ID, TIME, LABEL)]
    params = lightgbm_params(stream.task)
    out: dict[int, float] = {}
    for target in range(2, len(days) + 1):
        concept = stream.concept_of(target)
        first = 1 if window <= 0 else max(1, target - window)
        used = [days[d - 1] for d in range(first, target) if stream.concept_of(d) == concept]
        if not used:
            out[target] = NAN
            continue
        train = pd.concat(used, ignore_index=True)
        booster = lgb.train(
            params,
            lgb.Dataset(train[features].astype(float), train[LABEL].astype(float)),
            num_boost_round=LIGHTGBM_ROUNDS,
        )
        scored = days[target - 1]
        predicted = np.asarray(booster.predict(scored[features].astype(float)))
        out[target] = measured(metric, scored[LABEL].to_numpy(), predicted)
    return out


# -- the figures ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One partition, as the bench reports it."""

    day: int
    partition: str
    concept: int
    next_changes: bool
    delivered: int
    validated: int | None
    quarantined_rows: int
    quarantine_reason: str
    decision: str
    trigger: str
    reason: str
    champion: str
    holdout: float
    baseline: float
    live_version: str
    live: float
    gap: float
    drift_share: float
    oracle: float
    seconds: float
    errors: list[str]


def gap_of(metric: str, holdout: float, live: float) -> float:
    """holdout - live in the metric's direction: positive when live is worse."""
    return float(METRIC[metric].improvement(holdout, live))


def partition_row(
    instance: dg.DagsterInstance,
    project: Project,
    stream: Stream,
    day: int,
    partition: str,
    next_partition: str | None,
    delivered: int,
    oracle: float,
    run: DayRun,
) -> Row:
    metric = project.spec.metric
    validated = latest_metadata(instance, VALIDATED_BATCHES, partition)
    check = latest_check(instance, VALIDATED_BATCHES, SCHEMA_CHECK, partition)
    decided = materialization_record(instance, PRODUCTION_MODEL, partition)
    decision = decided["metadata"] if decided else None
    live = (
        (latest_metadata(instance, CHAMPION_PERFORMANCE, next_partition) or {})
        if next_partition
        else {}
    )
    drift = latest_metadata(instance, FEATURE_DRIFT, partition) or {}
    rows = None if validated is None else int(validated.get("dagster/row_count", 0))
    quarantined = validated is not None and validated.get("quarantined_batch_ids") not in (
        None,
        "none",
    )
    trigger = "-"
    if decided and decided["run_id"]:
        found = instance.get_run_by_id(decided["run_id"])
        trigger = (found.tags.get(TRIGGER_TAG) if found else None) or "automation"
    if decision is not None:
        promoted = decision.get("decision") == "promote"
        holdout = number(decision.get(f"candidate_{metric}" if promoted else f"champion_{metric}"))
        champion = str(decision.get("champion_after", "none"))
        verdict = "promote" if promoted else "keep"
    else:
        holdout = number(live.get(f"baseline_{metric}"))
        champion = str(live.get("champion_version", "-"))
        verdict = "no decision" if run.errors else "no retrain"
    live_value = number(live.get(f"champion_{metric}"))
    return Row(
        day=day,
        partition=partition,
        concept=stream.concept_of(day),
        next_changes=day + 1 in stream.changes(),
        delivered=delivered,
        validated=rows,
        quarantined_rows=delivered - (rows or 0) if quarantined else 0,
        quarantine_reason=(check or {}).get("description", "") if quarantined else "",
        decision=verdict,
        trigger=trigger,
        reason=str((decision or {}).get("reason", "")),
        champion=champion,
        holdout=holdout,
        baseline=number(live.get(f"baseline_{metric}")),
        live_version=str(live.get("champion_version", "-")),
        live=live_value,
        gap=gap_of(metric, holdout, live_value),
        drift_share=number(drift.get("drift_share")),
        oracle=oracle,
        seconds=run.seconds,
        errors=run.errors,
    )


def table(rows: list[Row], metric: str) -> str:
    head = (
        f"{'day':>3} {'partition':<10} {'cpt':>3} {'rows':>5} {'valid':>5} {'quar':>5} "
        f"{'decision':<11} {'trigger':<11} {'champ':>5} {'holdout':>7} {'live+1':>7} {'gap':>7} "
        f"{'oracle+1':>8} {'drift':>5} {'secs':>5}"
    )
    lines = [f"(holdout, live+1, gap, oracle+1: {metric}; live+1 and oracle+1 score day d+1)", head]
    for r in rows:
        mark = " <- change next day" if r.next_changes else ""
        lines.append(
            f"{r.day:>3} {r.partition:<10} {r.concept:>3} {r.delivered:>5} {fmt(r.validated):>5} "
            f"{r.quarantined_rows:>5} {r.decision:<11} {r.trigger[:11]:<11} {r.champion:>5} "
            f"{fmt(r.holdout):>7} {fmt(r.live):>7} {fmt(r.gap):>7} {fmt(r.oracle):>8} "
            f"{fmt(r.drift_share, 2):>5} {r.seconds:>5.0f}{mark}"
        )
    return "\n".join(lines)


def relative(metric: str) -> bool:
    return METRIC[metric].higher_is_better is False


def summary(
    rows: list[Row],
    stream: Stream,
    metric: str,
    steps: dict[str, list[float]],
    window: int,
    drift_threshold: float,
) -> dict[str, Any]:
    """The figures that judge the loop: gaps where nothing changed, recovery, promotions,
    quarantine, stage times."""
    rel = relative(metric)
    by_day = {r.day: r for r in rows}
    steady = [
        r for r in rows if not r.next_changes and not math.isnan(r.gap) and r.day + 1 in by_day
    ]
    limit = [RELATIVE_GAP * abs(r.holdout) if rel else BINARY_GAP for r in steady]
    gaps = [abs(r.gap) for r in steady]
    recoveries = []
    for change in stream.changes():
        recovered = None
        for r in rows:
            scored = r.day + 1  # r.live and r.oracle score day r.day + 1
            if scored <= change or math.isnan(r.live) or math.isnan(r.oracle):
                continue
            if any(change < c <= scored for c in stream.changes() if c != change):
                break  # the next change came first
            tolerance = RELATIVE_RECOVERY * abs(r.oracle) if rel else BINARY_RECOVERY
            if gap_of(metric, r.oracle, r.live) <= tolerance:
                recovered = scored - change
                break
        recoveries.append({"change_day": change, "partitions_to_recover": recovered})
    promotions = [r for r in rows if r.decision == "promote"]
    first = promotions[0].day if promotions else None
    changed_days = set(stream.changes())
    return {
        "steady_partitions": len(steady),
        "steady_gap_max": max(gaps) if gaps else NAN,
        "steady_gap_mean": statistics.fmean(gaps) if gaps else NAN,
        "steady_gap_over_limit": sum(g > lim for g, lim in zip(gaps, limit, strict=True)),
        "gap_limit": f"{RELATIVE_GAP:.0%} of the holdout" if rel else f"{BINARY_GAP}",
        "recovery_tolerance": f"{RELATIVE_RECOVERY:.0%}" if rel else f"{BINARY_RECOVERY}",
        "recoveries": recoveries,
        "first_model_day": first,
        "promotions": len(promotions),
        "promotions_on_unchanged_days": sum(
            1 for r in promotions if r.day != first and r.day not in changed_days
        ),
        "promotions_on_change_days": sum(1 for r in promotions if r.day in changed_days),
        # Settled: no change of concept within the training window ending that day.
        "promotions_settled": sum(
            1
            for r in promotions
            if r.day != first and not any(r.day - window < c <= r.day for c in changed_days)
        ),
        # Days whose drift check fails (share of drifted features at or above drift.threshold),
        # and those of them where the concept had not changed (the label rule held).
        "drift_threshold": drift_threshold,
        "drift_alarm_days": [r.day for r in rows if r.drift_share >= drift_threshold],
        "drift_alarms_same_concept": sum(
            1
            for r in rows
            if r.drift_share >= drift_threshold
            and not any(r.day - window < c <= r.day for c in changed_days)
        ),
        "days_quarantined": [r.day for r in rows if r.quarantined_rows],
        "rows_quarantined": sum(r.quarantined_rows for r in rows),
        "days_with_errors": [r.day for r in rows if r.errors],
        "live_oracle_mean_gap_after_change": _mean_after(rows, stream, metric),
        "step_seconds": {
            k: {
                "runs": len(v),
                "median": statistics.median(v),
                "mean": statistics.fmean(v),
                "max": max(v),
            }
            for k, v in sorted(steps.items())
        },
        "day_seconds_median": statistics.median([r.seconds for r in rows]) if rows else NAN,
        "total_seconds": sum(r.seconds for r in rows),
    }


def _mean_after(rows: list[Row], stream: Stream, metric: str) -> float:
    """Mean (oracle - live) over the days scored after the first change, both known."""
    changes = stream.changes()
    if not changes:
        return NAN
    pairs = [
        gap_of(metric, r.oracle, r.live)
        for r in rows
        if r.day + 1 > changes[0] and not math.isnan(r.oracle) and not math.isnan(r.live)
    ]
    return statistics.fmean(pairs) if pairs else NAN


def summary_text(s: dict[str, Any], metric: str) -> str:
    lines = [
        f"gap holdout - live (next day), {s['steady_partitions']} partitions where the world did "
        f"not change: max {fmt(s['steady_gap_max'])}, mean {fmt(s['steady_gap_mean'])}, "
        f"{s['steady_gap_over_limit']} over {s['gap_limit']} ({metric})",
    ]
    for rec in s["recoveries"]:
        n = rec["partitions_to_recover"]
        lines.append(
            f"change at day {rec['change_day']}: live within {s['recovery_tolerance']} of the "
            f"oracle after {'never (within the stream)' if n is None else f'{n} partition(s)'}"
        )
    lines.append(
        f"mean oracle - live after the first change: {fmt(s['live_oracle_mean_gap_after_change'])}"
    )
    lines.append(
        f"promotions: {s['promotions']} (first model on day {s['first_model_day']}); "
        f"{s['promotions_on_unchanged_days']} on days the concept did not change, "
        f"{s['promotions_on_change_days']} on change days; {s['promotions_settled']} with no "
        "change within the training window"
    )
    lines.append(
        f"drift alarms (share >= {s['drift_threshold']}): {len(s['drift_alarm_days'])} "
        f"{s['drift_alarm_days'] or ''}, {s['drift_alarms_same_concept']} with no change of "
        "concept within the training window"
    )
    lines.append(
        f"days quarantined: {len(s['days_quarantined'])} {s['days_quarantined'] or ''} "
        f"({s['rows_quarantined']} rows); days with failed steps: {s['days_with_errors'] or 'none'}"
    )
    lines.append(
        f"wall time per day: median {s['day_seconds_median']:.1f} s, total "
        f"{s['total_seconds']:.0f} s (2 shared cores: indicative only)"
    )
    lines.append("Dagster step durations (s): step, runs, median, mean, max")
    for step, t in s["step_seconds"].items():
        lines.append(
            f"  {step:<42} {t['runs']:>3} {t['median']:>7.2f} {t['mean']:>7.2f} {t['max']:>7.2f}"
        )
    return "\n".join(lines)


# -- the whole bench ------------------------------------------------------------------------------


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Feed a River drift stream, one daily CSV at a time, into a project made by "
        "`ct init` from day 1, and report whether ct's decisions hold live: holdout vs next-day "
        "figures, recovery after a change against an oracle, needless promotions, quarantined "
        "days, stage times. Prints figures; asserts nothing.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--stream", choices=sorted(STREAMS), default="agrawal", help="the stream")
    parser.add_argument("--days", type=int, default=30, help="days (one file each)")
    parser.add_argument("--rows", type=int, default=3000, help="rows per day")
    parser.add_argument(
        "--change-day", type=int, default=15, help="first day of the new concept (1-based)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generators and weather")
    parser.add_argument(
        "--noise", type=float, default=0.05, help="label noise (Agrawal: perturbation)"
    )
    parser.add_argument(
        "--functions",
        default="0,2",
        help="agrawal: classification functions before,after the change (harmless/stable: the "
        "first)",
    )
    parser.add_argument(
        "--period", type=int, default=7, help="friedman: days before the old concept recurs"
    )
    parser.add_argument(
        "--shift", type=float, default=1.0, help="harmless*: lasting covariate tilt from the change"
    )
    parser.add_argument(
        "--weather", type=float, default=0.15, help="daily covariate tilt of every stream (0: none)"
    )
    parser.add_argument("--no-id", action="store_true", help="no event id column in the files")
    parser.add_argument(
        "--window",
        type=int,
        default=None,
        help="the oracle's training window in days (None: the project's training.window; "
        "0: every earlier day of the concept)",
    )
    parser.add_argument("--start", help="date of day 1 (None: days+1 days before today, UTC)")
    parser.add_argument(
        "--mode",
        choices=("inprocess", "daemon"),
        default="inprocess",
        help="materialize in this process, or run `ct up` and drop files",
    )
    parser.add_argument(
        "--timeout", type=float, default=1200.0, help="daemon: longest wait for one day (s)"
    )
    parser.add_argument(
        "--workdir", help="where the temporary project goes (None: the system's temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the project and the files")
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="feed nothing: print the figures of a run kept with --keep in DIR again (give the "
        "same stream options)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on stdout (text to stderr)"
    )
    return parser.parse_args(argv)


def stream_options(args: argparse.Namespace) -> StreamOptions:
    before, _, after = args.functions.partition(",")
    return StreamOptions(
        days=args.days,
        rows=args.rows,
        change_day=args.change_day,
        seed=args.seed,
        noise=args.noise,
        period=args.period,
        functions=(int(before), int(after or before)),
        shift=args.shift,
        weather=args.weather,
        with_id=not args.no_id,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # MLflow says at INFO what it registers for every candidate: the runs record it anyway.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # SIGTERM (a timeout, a CI runner) unwinds like Ctrl-C: `ct up` is stopped, not orphaned.
    signal.signal(signal.SIGTERM, interrupted)
    out = Out(args.json)
    stream = STREAMS[args.stream](stream_options(args))
    start = (
        date.fromisoformat(args.start)
        if args.start
        else datetime.now(UTC).date() - timedelta(days=args.days + 1)
    )
    if args.report:
        return report_kept(args, out, stream, start)
    base = Path(args.workdir) if args.workdir else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"ct-live-{args.stream}-", dir=base))
    try:
        return bench(args, out, stream, start, work)
    finally:
        if args.keep:
            out(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, out: Out, stream: Stream, start: date, work: Path) -> int:
    files_dir, root = work / "files", work / args.stream
    files_dir.mkdir()
    made = time.time()
    days: list[pd.DataFrame] = []
    paths: list[Path] = []
    for d in range(1, args.days + 1):
        frame = stream.day(d, start)
        path = files_dir / f"{args.stream}-{(start + timedelta(days=d - 1)).isoformat()}.csv"
        frame.to_csv(path, index=False)
        days.append(frame)
        paths.append(path)
    out(f"stream {stream.name} ({stream.task}): {stream.description}")
    out(
        f"{args.days} days x {args.rows:,} rows from {start}, changes on days "
        f"{stream.changes() or 'none'}, weather {args.weather}; files made in "
        f"{time.time() - made:.1f} s; mode {args.mode}; work {work}"
    )
    code, said = ct_init(paths[0], root)
    out(f"$ ct init --from {paths[0].name} --label {LABEL} --out {root}\n{said.rstrip()}")
    if code != 0:
        out(f"ct init refused the first day (exit {code})")
        return code
    text = (root / "ct.yaml").read_text()
    out(f"--- ct.yaml as written by ct init ---\n{text.rstrip()}\n--- end of ct.yaml ---")
    project = load_project(root, environ={})
    out(
        f"metric {project.spec.metric}; retrain policy "
        f"{', '.join(project.spec.policy.retrain.triggers)}; training window "
        f"{project.spec.training.window}"
    )
    runs: list[DayRun] = []
    leftovers = None
    with project_environment(project):
        runner: InProcess | Daemon = (
            InProcess(project, out)
            if args.mode == "inprocess"
            else Daemon(project, out, args.timeout)
        )
        try:
            for d, path in enumerate(paths, start=1):
                partition = (start + timedelta(days=d - 1)).isoformat()
                run = runner.day(partition, path)
                runs.append(run)
                out(progress_line(runner.instance, project, d, run))
        finally:
            runner.close()
        if isinstance(runner, Daemon):
            leftovers = runner.leftovers
        report(args, out, stream, start, project, days, runs, leftovers)
    return 0


def recorded_runs(project: Project, start: date, count: int) -> list[DayRun]:
    """For `--report`: each day's runs as the instance recorded them (wall time from the first
    run's start to the last one's end; the errors of failed runs)."""
    from resources.environments import resolve

    out = []
    with resolve(project).instance() as instance:
        for d in range(count):
            partition = (start + timedelta(days=d)).isoformat()
            records = run_records(instance, partition)
            run = DayRun(partition)
            begun = [r.start_time for r in records if r.start_time]
            ended = [r.end_time for r in records if r.end_time]
            run.seconds = max(ended) - min(begun) if begun and ended else NAN
            for record in records:
                if record.dagster_run.status == dg.DagsterRunStatus.FAILURE:
                    run.errors.extend(run_errors(instance, record.dagster_run.run_id))
            out.append(run)
    return out


def report_kept(args: argparse.Namespace, out: Out, stream: Stream, start: date) -> int:
    """The figures of a run kept with `--keep`, read again from its folder and instance (the
    same stream options must be given)."""
    work = Path(args.report)
    files = sorted((work / "files").glob(f"{args.stream}-*.csv"))
    if not files:
        raise SystemExit(f"{work}/files holds no {args.stream} files")
    days = [pd.read_csv(f) for f in files]
    start = date.fromisoformat(files[0].stem.removeprefix(f"{args.stream}-"))
    project = load_project(work / args.stream, environ={})
    with project_environment(project):
        materialized = dg.DagsterInstance.from_config(str(project.dagster_home))
        count = sum(
            1
            for d in range(len(days))
            if run_records(materialized, (start + timedelta(days=d)).isoformat())
        )
        materialized.dispose()
        runs = recorded_runs(project, start, count)
        report(args, out, stream, start, project, days[:count], runs, None)
    return 0


def report(
    args: argparse.Namespace,
    out: Out,
    stream: Stream,
    start: date,
    project: Project,
    days: list[pd.DataFrame],
    runs: list[DayRun],
    leftovers: list[int] | None,
) -> None:
    """The table, the summary and, with --json, everything as JSON on stdout."""
    from resources.environments import resolve

    metric = project.spec.metric
    window = project.spec.training.window if args.window is None else args.window
    out(f"oracle window {window or 'all days of the concept'} day(s)")
    with resolve(project).instance() as instance:
        oracle = oracle_scores(stream, days, window, metric)
        rows = [
            partition_row(
                instance,
                project,
                stream,
                d,
                run.partition,
                runs[d].partition if d < len(runs) else None,
                len(days[d - 1]),
                oracle.get(d + 1, NAN),
                run,
            )
            for d, run in enumerate(runs, start=1)
        ]
        steps: dict[str, list[float]] = {}
        for run in runs:
            for record in run_records(instance, run.partition):
                for step, seconds in step_durations(instance, record.dagster_run.run_id).items():
                    steps.setdefault(step, []).append(seconds)
    spec = project.spec
    figures = summary(rows, stream, metric, steps, spec.training.window, spec.drift.threshold)
    out()
    out(table(rows, metric))
    out()
    out(summary_text(figures, metric))
    for r in rows:
        if r.quarantine_reason:
            out(f"day {r.day} quarantined: {r.quarantine_reason}")
        for error in r.errors:
            out(f"day {r.day} error: {error}")
    if args.json:
        print(
            json.dumps(
                {
                    "stream": stream.name,
                    "task": stream.task,
                    "description": stream.description,
                    "options": asdict(stream.options),
                    "mode": args.mode,
                    "start": start.isoformat(),
                    "metric": metric,
                    "oracle_window": window,
                    "ct_yaml": project.file.read_text(),
                    "rows": [asdict(r) for r in rows],
                    "summary": figures,
                    "daemon_leftover_processes": leftovers,
                },
                indent=1,
                default=str,
            )
        )


def progress_line(instance: dg.DagsterInstance, project: Project, day: int, run: DayRun) -> str:
    metric = project.spec.metric
    decision = latest_metadata(instance, PRODUCTION_MODEL, run.partition)
    live = latest_metadata(instance, CHAMPION_PERFORMANCE, run.partition) or {}
    validated = latest_metadata(instance, VALIDATED_BATCHES, run.partition) or {}
    said = (
        f"{decision.get('decision')} -> v{decision.get('champion_after')}"
        if decision
        else "no decision"
    )
    return (
        f"day {day:>2} {run.partition}: {run.seconds:5.1f} s, validated "
        f"{validated.get('dagster/row_count', '-')}, champion v{live.get('champion_version', '-')} "
        f"live {fmt(number(live.get(f'champion_{metric}')))}, {said}"
        + (f"; {len(run.errors)} error(s): {run.errors[0][:200]}" if run.errors else "")
    )


if __name__ == "__main__":
    raise SystemExit(main())
