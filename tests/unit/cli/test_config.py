"""Unit tests of ct_assets/cli/config.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ct_assets.cli import main
from ct_assets.cli.config import MAX_VALUE_WIDTH


def config_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, object]]:
    assert main(["config", *args, "--json"]) == 0
    shown: dict[str, dict[str, object]] = json.loads(capsys.readouterr().out)
    return shown


def test_ct_config_names_where_each_value_comes_from(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CT_TRAINING_WINDOW", "9")
    shown = config_json(capsys, "--project", str(tiny))
    assert shown["name"] == {"value": "tiny", "origin": "ct.yaml:1"}
    # A shorthand (`task: binary`) gives the key it names; the rest of the section is default.
    assert shown["task.type"] == {"value": "binary", "origin": "ct.yaml:2"}
    assert shown["task.positive"] == {"value": None, "origin": "default"}
    assert shown["dataset.columns.x.checks.ge"] == {"value": 0.0, "origin": "ct.yaml:7"}
    assert shown["dataset.columns.x.checks.le"] == {"value": None, "origin": "default"}
    assert shown["dataset.columns.y.checks.isin"] == {"value": [0, 1], "origin": "ct.yaml:8"}
    assert shown["features.columns"] == {"value": ["x"], "origin": "ct.yaml:10"}
    assert shown["training.window"] == {"value": 9, "origin": "env CT_TRAINING_WINDOW"}
    assert shown["training.holdout_fraction"] == {"value": 0.3, "origin": "ct.yaml:13"}
    assert shown["training.seed"] == {"value": 0, "origin": "default"}
    # A threshold is one value, written as the file writes it.
    assert shown["gates.margin"] == {"value": "1%", "origin": "ct.yaml:15"}
    assert shown["runs.max_concurrent"] == {"value": 4, "origin": "default"}
    origins = {str(s["origin"]) for s in shown.values()}
    assert origins <= {"default", "env CT_TRAINING_WINDOW"} | {f"ct.yaml:{n}" for n in range(1, 16)}


def test_ct_config_shows_only_the_keys_under_a_prefix_in_aligned_columns(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "training", "--project", str(tiny)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("training.") for line in lines)
    window = next(line for line in lines if line.startswith("training.window "))
    assert window.split() == ["training.window", "4", "ct.yaml:12"]
    # Values up to the width of the column: their origins start at one place.
    rows = [re.fullmatch(r"(\S+) +(.+?) +(default|ct\.yaml:\d+)", line) for line in lines]
    assert all(rows)
    starts = {row.start(3) for row in rows if row and len(row[2]) <= MAX_VALUE_WIDTH}
    assert len(starts) == 1 and len(rows) > 3
    # A prefix is whole parts of the key: `gates.margin` is not `gates.margin_of_anything`.
    assert list(config_json(capsys, "gates.margin", "--project", str(tiny))) == ["gates.margin"]
    assert "runs.training" not in config_json(capsys, "training", "--project", str(tiny))


def test_ct_config_refuses_an_unknown_key_with_the_one_meant(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "trainin", "--project", str(tiny)]) == 1
    error = capsys.readouterr().err.strip()
    assert error == "ct config: no key 'trainin' in the configuration (did you mean 'training'?)"


def test_ct_config_shows_a_secret_s_variable_name_never_its_value(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CT_SOURCES", "http_api")
    monkeypatch.setenv("CT_HTTP_TOKEN", "s3cr3t-t0ken")
    monkeypatch.setenv("CT_HTTP_URL", "https://user:hunter2@api.example.com/events")
    assert main(["config", "sources", "--project", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "CT_HTTP_TOKEN" in out and "s3cr3t" not in out and "hunter2" not in out
