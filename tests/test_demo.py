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
def test_the_daemon_promotes_a_model_and_quarantines_a_bad_day(
    tmp_path: Path, restored_environ: None
) -> None:
    os.environ["CT_HOME"] = str(tmp_path / "ct")
    script = (
        DemoDay(0, "first day"),
        DemoDay(1, "a broken export beside the good file", "missing_column"),
    )
    reports = run_demo(script=script, rows_per_day=800, day_timeout=120)
    assert [r.outcome for r in reports] == ["promote", "stopped: batch quarantined"]
    registry = MlflowRegistry(
        tracking_uri=f"sqlite:///{tmp_path / 'ct' / 'mlflow' / 'mlflow.db'}",
        artifact_root=str(tmp_path / "ct" / "mlflow" / "artifacts"),
    )
    champion = registry.champion_version()
    assert champion is not None
    assert registry.version_tags(champion)["ct.training_partitions"] == reports[0].partition
    quarantine = tmp_path / "ct" / "data" / "quarantine"
    (reason,) = [json.loads(p.read_text()) for p in quarantine.glob("*/reason.json")]
    assert reason["partitions"] == [reports[1].partition]
    assert "'channel'" in reason["reason"]
