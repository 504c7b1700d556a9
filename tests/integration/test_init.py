"""`ct init --from FILE`: a sample in, a runnable commented project out, or a clear question.

Every test writes a real sample file, runs the command through `ct_assets.cli.main`, and reads
what it wrote (or did not) and what it printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ct_assets.cli import main
from tests.helpers.init import base, init, write


def test_ct_models_on_a_project_with_nothing_registered_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(write(tmp_path, base()), tmp_path / "proj") == 0
    capsys.readouterr()
    assert main(["models", "--project", str(tmp_path / "proj")]) == 0
    shown = capsys.readouterr().out
    assert "(no version registered yet)" in shown
    assert main(["models", "--project", str(tmp_path / "proj"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == []
