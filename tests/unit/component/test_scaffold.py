"""Unit tests of ct_assets/component/scaffold.py: `dg scaffold defs` for ct's Component, run as
dg runs it (in process, through Dagster's own scaffolding entry point).

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
import pytest
import yaml
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox

from ct_assets.component import ContinuousTraining
from ct_assets.project.load import read_spec
from examples.shop.generator import DriftingSource


@pytest.fixture
def sandbox() -> Iterator[DefsFolderSandbox]:
    with create_defs_folder_sandbox() as sandbox:
        yield sandbox


def sample(folder: Path, rows: int = 400) -> Path:
    path = folder / "orders.csv"
    DriftingSource(date(2026, 11, 1), rows_per_day=rows).day(0).to_csv(path, index=False)
    return path


def test_a_sample_gives_the_ct_yaml_ct_init_would_and_a_defs_yaml_naming_it(
    sandbox: DefsFolderSandbox,
) -> None:
    given = sample(sandbox.project_root)
    folder = sandbox.scaffold_component(
        ContinuousTraining, "fraud", scaffold_params={"sample": str(given), "label": "label"}
    )
    defs = yaml.safe_load((folder / "defs.yaml").read_text())
    assert defs == {
        "type": "ct_assets.component.ContinuousTraining",
        "attributes": {"project": "ct.yaml"},
    }
    spec = read_spec(folder / "ct.yaml")
    assert spec.name == "fraud"  # the folder's name
    assert spec.dataset.roles.label == "label"
    assert (folder / "landing").is_dir()
    assert (folder / ".gitignore").read_text() == ".ct/\n"


def test_a_sample_path_is_also_found_from_the_dg_project_s_root(
    sandbox: DefsFolderSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sample(sandbox.project_root)
    monkeypatch.chdir(tmp_path)  # dg run from elsewhere: the path is the project's
    params = {"sample": "orders.csv", "name": "shop-eu"}
    folder = sandbox.scaffold_component(ContinuousTraining, "eu", scaffold_params=params)
    assert read_spec(folder / "ct.yaml").name == "shop-eu"


def test_without_a_sample_the_defs_yaml_says_how_to_make_the_ct_yaml_it_names(
    sandbox: DefsFolderSandbox,
) -> None:
    folder = sandbox.scaffold_component(ContinuousTraining, "churn")
    text = (folder / "defs.yaml").read_text()
    assert yaml.safe_load(text) == {
        "type": "ct_assets.component.ContinuousTraining",
        "attributes": {"project": "ct.yaml"},
    }
    assert "ct init --from path/to/sample.csv --out . --name churn" in text
    assert '--json-params \'{"sample": "path/to/sample.csv"}\'' in text
    assert not (folder / "ct.yaml").exists()


def test_a_choice_the_sample_leaves_open_is_one_line_naming_the_parameter(
    sandbox: DefsFolderSandbox,
) -> None:
    given = sample(sandbox.project_root)
    with pytest.raises(click.ClickException) as refused:
        sandbox.scaffold_component(
            ContinuousTraining, "x", scaffold_params={"sample": str(given), "label": "nope"}
        )
    message = refused.value.message
    assert message.startswith(f"{given}: ") and "nope" in message
    assert "--json-params" in message and "\n" not in message
    with pytest.raises(click.ClickException, match=r"^sample missing\.csv: no such file in "):
        sandbox.scaffold_component(
            ContinuousTraining, "y", scaffold_params={"sample": "missing.csv"}
        )
