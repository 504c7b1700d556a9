"""Unit tests of ct_assets/project/sample.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ct_assets.project.sample import read_sample
from tests.helpers.init import N, base, comments, init, write


def test_a_large_sample_is_read_in_part_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ct_assets.cli.init as command

    monkeypatch.setattr(command, "MAX_ROWS", 100)
    path = write(tmp_path, base(amount=np.linspace(1, 50, N)))
    assert read_sample(path, command.MAX_ROWS).rows == 100
    out = tmp_path / "p"
    assert init(path, out) == 0
    printed = capsys.readouterr().out
    assert "the first 100 rows of sample.csv" in printed
    assert "the first 100 rows of sample.csv" in comments(out)
