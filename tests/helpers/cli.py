"""Helpers shared by several test files, unit and integration:
the ones tests/test_cli.py held."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Line numbers matter: the test reads them back from `ct config`.
TINY = """\
name: tiny
task: binary
dataset:
  roles: {label: y, event_time: t}
  columns:
    t: {type: datetime}
    x: {type: float, checks: {ge: 0}}
    y: {type: int, checks: {isin: [0, 1]}}
features:
  columns: [x]
training:
  window: 4
  holdout_fraction: 0.3
gates:
  margin: 1%
"""


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small project; no CT_* variable of the outer environment leaks into it."""
    for variable in [v for v in os.environ if v.startswith("CT_")]:
        monkeypatch.delenv(variable)
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "ct.yaml").write_text(TINY)
    return root
