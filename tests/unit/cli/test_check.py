"""Unit tests of ct_assets/cli/check.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ct_assets.cli import main
from tests.helpers.dialects import EU, PROJECT


def test_a_semicolon_file_is_named_by_ct_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ct.yaml").write_text(yaml.safe_dump(PROJECT), encoding="utf-8")
    drop = tmp_path / "drop.csv"
    drop.write_bytes(EU.csv())
    assert main(["check", "--project", str(tmp_path), str(drop)]) == 1
    out = capsys.readouterr().out
    assert "the header is delimited by ';'; dataset.format.delimiter is ','" in out
