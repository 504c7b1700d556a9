"""The registry as operators use it: `ct models` and `ct rollback`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Project


def ct(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CT_HOME": str(project.settings.home), "COLUMNS": "200"}
    command = [str(Path(sys.executable).with_name("ct")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_rollback_restores_the_previous_champion_and_the_history_shows_both_moves(
    project: Project,
) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry = project.resource("mlflow")
    first = registry.champion_version()
    assert first is not None
    other = next(v["version"] for v in registry.versions() if v["version"] != first)
    registry.promote(other, first, "a later promotion")

    listed = ct(project, "models")
    assert listed.returncode == 0, listed.stderr
    assert f"champion v{other}" in listed.stdout and "a later promotion" in listed.stdout

    back = ct(project, "rollback", "--reason", "live AUC fell below 0.6")
    assert back.returncode == 0, back.stdout + back.stderr
    assert registry.champion_version() == first
    moves = registry.history()
    assert [m["kind"] for m in moves] == ["promote", "promote", "rollback"]
    assert (moves[-1]["from"], moves[-1]["to"]) == (other, first)
    assert moves[-1]["reason"] == "live AUC fell below 0.6"
    tags = registry.version_tags(first)
    assert tags["ct.previous_champion"] == other

    again = ct(project, "rollback", "--to", first)
    assert again.returncode == 1 and f"v{first} is already the champion" in again.stdout
    missing = ct(project, "rollback", "--to", "999")
    assert missing.returncode == 1 and "has no version 999" in missing.stdout
    assert registry.champion_version() == first
