"""Crash consistency of the data side: a real process killed (SIGKILL) at each named write, then
restarted, ends exactly as a run that never crashed; a full or read-only disk is one line naming
the path, leaves nothing half written, and the run succeeds once the disk takes writes again.

One shop project is prepared per module (a day of orders with one row to set aside, and a file
refused whole), and its state after each stage is copied for every test: a test pays for the
killed process and an in-process restart, not for the stages before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from ct_assets.crash import CRASH_AT
from ct_assets.definitions import build_definitions
from ct_assets.ingest.refusals import StorageError
from ct_assets.io import predictions
from ct_assets.names import FEATURES, RAW_BATCHES, VALIDATED_BATCHES
from ct_assets.project.load import Project, load_project
from ct_assets.reads.observe import latest_metadata
from resources.storage import STAMP, BatchStore
from tests.conftest import REPOSITORY, START, generator, write_project

pytestmark = pytest.mark.integration

DAY = START.isoformat()
ROWS = 400
STAGES = (RAW_BATCHES, VALIDATED_BATCHES, FEATURES)
# Fields that say where or when this copy of the project wrote a record, not what it holds.
WHERE_AND_WHEN = ("raw_path", "source_path", "ingested_at", "arrived_at", STAMP)
COUNTS = ("rows_delivered", "rows_validated", "rows_set_aside", "rows_refused")


# -- the prepared project --------------------------------------------------------------------------


def prepare(root: Path) -> Project:
    """A shop project with one day landed: orders with one row to set aside, and a second file
    missing a declared column (refused whole)."""
    project = write_project(root, "shop")
    shop = generator("shop")
    source = shop.demo_source(START, ROWS)
    day = source.day(0)
    day.loc[day.index[7], "amount"] = -1.0  # breaks `amount >= 0`: set aside, the rest goes on
    shop.write_atomically(day, project.landing_dir / source.day_name(0))
    broken = day.head(20).assign(event_id=lambda f: "x-" + f["event_id"]).drop(columns="channel")
    shop.write_atomically(broken, project.landing_dir / f"broken_{DAY}.csv")
    project.dagster_home.mkdir(parents=True)
    shutil.copyfile(REPOSITORY / "dagster.yaml", project.dagster_home / "dagster.yaml")
    return project


def copy_of(template: Path, root: Path) -> Project:
    shutil.copytree(template, root)
    return load_project(root, environ={})


@contextlib.contextmanager
def instance_of(project: Project) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(str(project.dagster_home)) as instance:
        yield instance


def materialize(project: Project, *assets: str) -> bool:
    """Run `assets` of DAY in this process, on the project's instance (the restart)."""
    defs = build_definitions(project)
    job = defs.resolve_implicit_global_asset_job_def()
    with instance_of(project) as instance:
        result = job.execute_in_process(
            partition_key=DAY,
            instance=instance,
            asset_selection=[dg.AssetKey(a) for a in assets],
            raise_on_error=False,
        )
    return result.success


# A run of one asset of one partition in a process of its own, through Dagster on the project's
# instance, as the daemon's run worker makes it (`dagster asset materialize` does the same after
# seconds more of start-up, a cost paid once per killed process here).
RUN = """
import sys
import dagster as dg
from ct_assets.definitions import build_definitions
from ct_assets.ingest.refusals import StorageError
from ct_assets.project.load import load_project
job = build_definitions(load_project()).resolve_implicit_global_asset_job_def()
with dg.DagsterInstance.get() as instance:
    result = job.execute_in_process(
        partition_key=sys.argv[2],
        instance=instance,
        asset_selection=[dg.AssetKey(sys.argv[1])],
        raise_on_error=False,
    )
sys.exit(0 if result.success else 1)
"""


def run_process(project: Project, asset: str, crash: str | None) -> subprocess.CompletedProcess:
    """A run of `asset` of DAY in a process of its own, killed at `crash` when named."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CT_")}
    env |= {"CT_PROJECT": str(project.root), "DAGSTER_HOME": str(project.dagster_home)}
    if crash:
        env[CRASH_AT] = crash
    return subprocess.run(
        [sys.executable, "-c", RUN, asset, DAY],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- what readers see ------------------------------------------------------------------------------


@dataclass
class State:
    """A project's day as every reader sees it, without where or when it was written."""

    batches: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]
    frames: dict[str, pd.DataFrame | None]
    materializations: dict[str, int]
    counts: dict[str, Any]
    staging: list[str]


def plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in WHERE_AND_WHEN}


def store_of(project: Project) -> BatchStore:
    return BatchStore(base_dir=str(project.data_dir))


def frame_of(project: Project, asset: str) -> pd.DataFrame | None:
    path = project.data_dir / asset / f"{DAY}.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    return frame.drop(columns=[c for c in WHERE_AND_WHEN if c in frame.columns])


def state_of(project: Project) -> State:
    store = store_of(project)
    with instance_of(project) as instance:
        materializations = {
            asset: len(
                instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[DAY]),
                    limit=10,
                ).records
            )
            for asset in STAGES
        }
        validated = latest_metadata(instance, VALIDATED_BATCHES, DAY) or {}
    return State(
        batches=sorted((plain(m) for m in store.batches(DAY)), key=lambda m: m["batch_id"]),
        quarantined=[plain(r) for r in store.all_quarantined()],
        frames={asset: frame_of(project, asset) for asset in STAGES},
        materializations=materializations,
        counts={k: validated.get(k) for k in COUNTS},
        staging=sorted(str(p.relative_to(project.root)) for p in project.root.rglob(".*.tmp")),
    )


def assert_whole_or_absent(project: Project, done: State) -> None:
    """Every reader sees either the uncrashed run's record or nothing, never part of one."""
    store = store_of(project)
    for manifest in store.batches(DAY):
        assert plain(manifest) in done.batches
        assert hashlib.sha256(store.read_batch(manifest)).hexdigest() == manifest["sha256"]
    for batch in done.batches:
        found = store.find_batch(batch["batch_id"])
        assert found is None or plain(found) == batch
    for record in store.all_quarantined():
        assert plain(record) in done.quarantined
        held = store.quarantine_root / record["batch_id"]
        assert (
            held / ("set_aside.csv" if record["kind"] == "set_aside" else record["file"])
        ).exists()
    for asset, frame in done.frames.items():
        seen = frame_of(project, asset)
        if seen is not None:
            assert frame is not None
            pd.testing.assert_frame_equal(seen, frame)


def assert_as_uncrashed(project: Project, done: State) -> None:
    """Restarted, the day is what the uncrashed run made: the same batches, quarantine records
    and outputs, each partition recorded once, every row counted once, no staging file left."""
    after = state_of(project)
    assert after.batches == done.batches
    assert after.quarantined == done.quarantined
    for asset, frame in done.frames.items():
        seen = after.frames[asset]
        if frame is None:
            assert seen is None, asset
        else:
            assert seen is not None, asset
            pd.testing.assert_frame_equal(seen, frame)
    assert after.materializations == done.materializations
    assert after.counts == done.counts
    assert after.staging == []


# -- fixtures: the project after each stage, and an uncrashed run's result -------------------------


@dataclass
class Prepared:
    """Templates of the project: before any stage, and after each; the uncrashed day."""

    templates: dict[str, Path]
    done: State

    def at(self, stage: str, root: Path) -> Project:
        return copy_of(self.templates[stage], root)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    base = tmp_path_factory.mktemp("crashes")
    templates = {"landed": base / "landed"}
    project = prepare(templates["landed"])
    for stage in STAGES:
        templates[stage] = base / stage
        project = copy_of(project.root, templates[stage])
        assert materialize(project, stage), stage
    done = state_of(project)
    # The day the crash tests must reproduce: one batch accepted with a row set aside, one
    # refused; every delivered row counted once.
    assert done.counts == {
        "rows_delivered": ROWS + 20,
        "rows_validated": ROWS - 1,
        "rows_set_aside": 1,
        "rows_refused": 20,
    }
    assert sorted(r["kind"] for r in done.quarantined) == ["refused", "set_aside"]
    assert done.materializations == dict.fromkeys(STAGES, 1)
    return Prepared(templates, done)


def before(stage: str) -> str:
    return ("landed", *STAGES)[STAGES.index(stage)]


def done_up_to(done: State, stage: str) -> State:
    """The uncrashed state as far as `stage`: later stages not run yet."""
    later = STAGES[STAGES.index(stage) + 1 :]
    raw_only = stage == RAW_BATCHES
    return State(
        batches=done.batches,
        quarantined=[] if raw_only else done.quarantined,
        frames={a: None if a in later else f for a, f in done.frames.items()},
        materializations={a: 0 if a in later else n for a, n in done.materializations.items()},
        counts=dict.fromkeys(COUNTS) if raw_only else done.counts,
        staging=[],
    )


# -- crashes in the stages -------------------------------------------------------------------------

# (crash point, the asset whose run reaches it), in the order a day's writes happen.
# (`raw.batch.tmp` and `raw_batches.parquet.tmp` are the same staged rename as
# `validated_batches.parquet.tmp`, tested once there.)
STAGE_POINTS = [
    ("raw.batch.written", RAW_BATCHES),
    ("raw.manifest.written", RAW_BATCHES),
    ("quarantine.set_aside", VALIDATED_BATCHES),
    ("quarantine.record", VALIDATED_BATCHES),
    ("validated_batches.parquet.tmp", VALIDATED_BATCHES),
    ("validated_batches.parquet.written", VALIDATED_BATCHES),
    ("features.parquet.tmp", FEATURES),
]


@pytest.mark.parametrize(("point", "stage"), STAGE_POINTS, ids=[p for p, _ in STAGE_POINTS])
def test_a_stage_killed_at_a_write_restarts_to_the_uncrashed_day(
    prepared: Prepared, tmp_path: Path, point: str, stage: str
) -> None:
    """Killed by SIGKILL at `point`, a stage's run leaves every reader (the raw manifests, the
    quarantine list, the next stage's input) the whole previous state or nothing, never part;
    the restarted run materializes the partition once, with the uncrashed run's content, and
    delivered = validated + set aside + refused."""
    project = prepared.at(before(stage), tmp_path / "project")
    done = done_up_to(prepared.done, stage)

    killed = run_process(project, stage, crash=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert_whole_or_absent(project, done)
    assert state_of(project).materializations[stage] == 0

    assert materialize(project, stage)
    assert_as_uncrashed(project, done)


# -- the prediction log ----------------------------------------------------------------------------

# Six answers over two days, logged by a serving process (the log's thread, then close).
SERVE = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from ct_assets.io.predictions import Prediction, PredictionLog
log = PredictionLog(Path(sys.argv[1]), interval=3600)
at = datetime(2026, 1, 1, 12, tzinfo=UTC)
log.append(
    Prediction(f"r{i}", 0, at, "2026-01-0" + str(1 + i // 3), "1", "answer", "champion", "f",
               "h", None, float(i))
    for i in range(6)
)
log.close()
"""


def serve(data_dir: Path, crash: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CT_")}
    if crash:
        env[CRASH_AT] = crash
    return subprocess.run(
        [sys.executable, "-c", SERVE, str(data_dir)],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("point", "logged"), [("predictions.tmp", []), ("predictions.flush", ["r0", "r1", "r2"])]
)
def test_a_serving_process_killed_mid_flush_leaves_whole_log_files_only(
    tmp_path: Path, point: str, logged: list[str]
) -> None:
    """Killed while flushing, the log holds whole files only: every row in it once, the rows of
    the partitions published before the kill, none of a file not yet renamed; the next log
    started on the folder removes the dead writer's staging file."""
    killed = serve(tmp_path, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    table = predictions.read(tmp_path)
    assert sorted(table.column("request_id").to_pylist()) == logged
    left = list(tmp_path.rglob(".*.tmp"))
    assert len(left) == (1 if point == "predictions.tmp" else 0)

    predictions.PredictionLog(tmp_path, interval=3600).close()
    assert list(tmp_path.rglob(".*.tmp")) == []
    assert serve(tmp_path, None).returncode == 0
    ids = predictions.read(tmp_path).column("request_id").to_pylist()
    assert sorted(ids) == sorted(logged + [f"r{i}" for i in range(6)])


def test_a_flush_that_fails_part_way_keeps_only_the_unwritten_rows_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flush over two days whose second file is refused (a full disk) logs the first day's
    rows once, not again with the retried rest: every row ends in the log exactly once."""
    real = predictions.write_chunk
    refused = iter([True])

    def full_once(data_dir: Any, partition: str, chunk: Any) -> Any:
        if partition.endswith("02") and next(refused, False):
            raise StorageError(f"no space left on device writing {data_dir}")
        return real(data_dir, partition, chunk)

    monkeypatch.setattr(predictions, "write_chunk", full_once)
    log = predictions.PredictionLog(tmp_path, interval=3600)
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    log._flush(
        [
            predictions.Prediction(
                f"r{i}",
                0,
                at,
                f"2026-01-0{1 + i // 3}",
                "1",
                "answer",
                "champion",
                "f",
                "h",
                None,
                float(i),
            )
            for i in range(6)
        ]
    )
    assert log.failures == 1
    log.close()
    ids = predictions.read(tmp_path).column("request_id").to_pylist()
    assert sorted(ids) == [f"r{i}" for i in range(6)]


# -- a full or read-only disk ----------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small filesystem of its own at `folder`, unmounted afterwards whatever happens."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, room: int) -> Path:
    """A file taking every free block of `folder`'s filesystem but `room` bytes: a write
    bigger than that starts, then fails part way."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 4096)
    os.truncate(filler, max(0, filler.stat().st_size - room))
    return filler


def failure_of(project: Project) -> str:
    """What the failed run says: its step failure's description and the errors it chains."""
    with instance_of(project) as instance:
        (run,) = instance.get_runs(limit=1)
        events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    data = events[-1].dagster_event.step_failure_data  # type: ignore[union-attr]
    said = [data.user_failure_data.description] if data.user_failure_data else []
    error = data.error
    while error is not None:
        said.append(error.message)
        error = error.cause
    return "\n".join(s for s in said if s)


def test_a_full_then_read_only_disk_fails_in_one_line_and_the_retry_counts_every_row(
    prepared: Prepared, tmp_path: Path
) -> None:
    """Validated Parquet on a full disk, then on a read-only one: each run fails with one line
    naming the file and what to do, leaves no staging file and no partition recorded; once the
    disk takes writes again the run materializes the day as an uncrashed run does, with every
    delivered row validated, set aside or refused."""
    project = prepared.at(RAW_BATCHES, tmp_path / "project")
    done = done_up_to(prepared.done, VALIDATED_BATCHES)
    target = project.data_dir / VALIDATED_BATCHES / f"{DAY}.parquet"
    with tmpfs(target.parent, "64k") as folder:
        filler = fill(folder, room=8192)
        failed = run_process(project, VALIDATED_BATCHES, crash=None)
        assert failed.returncode == 1
        line = f"no space left on device writing {target} (free space, then retry the run)"
        assert line in failed.stderr
        assert line in failure_of(project)
        assert sorted(folder.iterdir()) == [filler]
        assert_whole_or_absent(project, done)
        assert state_of(project).materializations[VALIDATED_BATCHES] == 0

        filler.unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        assert not materialize(project, VALIDATED_BATCHES)
        said = failure_of(project)
        assert f"read-only file system writing {target} (make it writable" in said
        assert list(folder.iterdir()) == []

        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        assert materialize(project, VALIDATED_BATCHES)
        assert_as_uncrashed(project, done)
