"""A fleet for tests: two projects of different tasks in one folder (shop: binary
classification with an entity; energy: regression), each served on a port of its own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_project

# Each example's changes in the fleet: a serving port of its own (both examples say 8000).
PORTS = {"shop": 8101, "energy": 8102}


def write_fleet(root: Path, changes: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """`root` holding the shop and energy examples as projects, each in its own folder."""
    for example, port in PORTS.items():
        extra: dict[str, Any] = {"serving": {"port": port}, **(changes or {}).get(example, {})}
        write_project(root / example, example, extra)
    return root


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fleet folder; no CT_* variable (nor DAGSTER_HOME) of the outer environment leaks in."""
    for variable in [v for v in os.environ if v.startswith("CT_") or v == "DAGSTER_HOME"]:
        monkeypatch.delenv(variable)
    return write_fleet(tmp_path / "fleet")
