"""The product as users run it: the real dagster-daemon, sensors and automation, no driver;
and nothing of it left running afterwards."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ct_assets.cli.demo import DemoDay, run_demo
from ct_assets.cli.processes import processes_with
from resources.mlflow_registry import MlflowRegistry
from tests.conftest import write_project


@pytest.mark.integration
def test_the_daemon_promotes_a_model_and_quarantines_a_bad_batch(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    script = (
        DemoDay(0, "first day"),
        DemoDay(1, "a broken export beside the good file", "missing_column"),
        DemoDay(2, "only a broken export", "missing_column", good_file=False),
    )
    reports = run_demo(
        "shop", root=root, script=script, rows_per_day=800, day_timeout=150, serve_port=free_port()
    )
    # The example retrains on drift or performance only: the first day trains (no champion),
    # day 1's good file goes on to the champion's live score and, with nothing drifted and the
    # champion holding, to no retrain; day 2 has nothing valid and stops.
    assert [r.outcome for r in reports[:1]] == ["promote"]
    assert reports[1].outcome.startswith("no retrain: champion v"), reports[1].outcome
    # Day 1's events were served online by the champion before their labels came.
    assert reports[1].served == 300
    assert reports[2].outcome == "stopped: batch quarantined"
    registry = MlflowRegistry(
        tracking_uri=f"sqlite:///{root / '.ct' / 'mlflow' / 'mlflow.db'}",
        artifact_root=str(root / ".ct" / "mlflow" / "artifacts"),
        registered_model="shop",
    )
    champion = registry.champion_version()
    assert champion is not None
    promoted = [i for i, r in enumerate(reports) if r.outcome == "promote"][-1]
    trained_on = ",".join(r.partition for r in reports[: promoted + 1])
    assert registry.version_tags(champion)["ct.training_partitions"] == trained_on
    quarantine = root / ".ct" / "data" / "quarantine"
    reasons = [json.loads(p.read_text()) for p in quarantine.glob("*/reason.json")]
    assert sorted(r["partitions"][0] for r in reasons) == [
        reports[1].partition,
        reports[2].partition,
    ]
    assert all("'channel'" in r["reason"] for r in reasons)
    # The demo stopped the daemon and everything the daemon started.
    assert processes_with("CT_PROJECT", str(root)) == []

    status = subprocess.run(
        [str(Path(sys.executable).with_name("ct")), "status", "--project", str(root), "--json"],
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["champion"] == champion
    rows = {row["partition"]: row for row in shown["partitions"]}
    assert rows[reports[0].partition]["decision"] == "promote"
    assert rows[reports[0].partition]["champion_roc_auc"] > 0.6
    held = rows[reports[2].partition]["quarantined"]
    assert [q["rules"] for q in held] == [["missing_column"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def code_servers(root: Path) -> list[int]:
    """`dagster api grpc` processes started for the project (the daemon's code server)."""
    found = []
    for pid in processes_with("CT_PROJECT", str(root)):
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b" api grpc" in line:
            found.append(pid)
    return found


@pytest.mark.integration
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ct_up_leaves_no_process_behind(tmp_path: Path, stop: signal.Signals) -> None:
    project = write_project(tmp_path / "project", "energy")
    up = subprocess.Popen(
        [str(Path(sys.executable).with_name("ct")), "up", "--project", str(project.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The daemon has started the code server it loads the project in.
        assert wait_for(lambda: code_servers(project.root), 120), "no code server started"
        assert project.landing_dir.is_dir() and project.dagster_home.is_dir()
        up.send_signal(stop)  # Ctrl-C reaches ct alone: its servers run in their own sessions
        output, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    assert "stopped" in output
    assert processes_with("CT_PROJECT", str(project.root)) == []
