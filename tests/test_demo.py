"""The product as the demo runs it: the real dagster-daemon, sensors and automation, no driver."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ct_assets.demo import DemoDay, run_demo
from resources.mlflow_registry import MlflowRegistry


@pytest.fixture
def restored_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.integration
def test_the_daemon_promotes_a_model_and_quarantines_a_bad_batch(
    tmp_path: Path, restored_environ: None
) -> None:
    os.environ["CT_HOME"] = str(tmp_path / "ct")
    script = (
        DemoDay(0, "first day"),
        DemoDay(1, "a broken export beside the good file", "missing_column"),
        DemoDay(2, "only a broken export", "missing_column", good_file=False),
    )
    reports = run_demo(script=script, rows_per_day=800, day_timeout=120)
    # Day 1's good file goes on to a decision; day 2 has nothing valid and stops.
    assert reports[0].outcome == "promote"
    assert reports[1].outcome in ("promote", "keep champion")
    assert reports[2].outcome == "stopped: batch quarantined"
    registry = MlflowRegistry(
        tracking_uri=f"sqlite:///{tmp_path / 'ct' / 'mlflow' / 'mlflow.db'}",
        artifact_root=str(tmp_path / "ct" / "mlflow" / "artifacts"),
    )
    champion = registry.champion_version()
    assert champion is not None
    promoted = [i for i, r in enumerate(reports) if r.outcome == "promote"][-1]
    trained_on = ",".join(r.partition for r in reports[: promoted + 1])
    assert registry.version_tags(champion)["ct.training_partitions"] == trained_on
    quarantine = tmp_path / "ct" / "data" / "quarantine"
    reasons = [json.loads(p.read_text()) for p in quarantine.glob("*/reason.json")]
    assert sorted(r["partitions"][0] for r in reasons) == [
        reports[1].partition,
        reports[2].partition,
    ]
    assert all("'channel'" in r["reason"] for r in reasons)
