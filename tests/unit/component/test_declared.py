"""Unit tests of ct_assets/component/declared.py: the project a component's defs.yaml declares.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dagster_shared.yaml_utils import parse_yamls_with_source_position

from ct_assets.component.declared import declared_project, inline_text
from ct_assets.names import Namespace
from ct_assets.project.load import ProjectError
from tests.helpers.cli import TINY

TYPE = "type: ct_assets.component.ContinuousTraining\n"


def inline(spec: str = TINY, indent: int = 4) -> str:
    return TYPE + "attributes:\n  spec:\n" + textwrap.indent(spec, " " * indent)


def declared(folder: Path, text: str, document: int = 0, environ: dict[str, str] | None = None):
    """The project of one component of `folder`/defs.yaml, as Dagster hands it over."""
    file = folder / "defs.yaml"
    file.write_text(text)
    tree = parse_yamls_with_source_position(text, str(file))[document]
    attributes = tree.value.get("attributes") or {}
    return declared_project(
        folder,
        attributes.get("project"),
        attributes.get("spec"),
        attributes.get("key_prefix"),
        tree.source_position_tree,
        environ={} if environ is None else environ,
    )


def test_an_inline_spec_is_the_project_under_its_name_at_home_in_the_defs_folder(
    tmp_path: Path,
) -> None:
    project = declared(tmp_path, inline())
    assert project.spec.name == "tiny"
    assert project.namespace == Namespace.of("tiny")
    assert project.root == tmp_path
    assert project.home == tmp_path / ".ct"
    # Where the inline spec writes a key is its line in defs.yaml.
    assert project.locate(("training", "window")) == 3 + TINY.splitlines().index("training:") + 2


def test_a_wrong_inline_value_is_refused_at_its_defs_yaml_line_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = TINY.replace("window: 4", "window: four")
    line = 3 + bad.splitlines().index("  window: four") + 1
    with pytest.raises(ProjectError) as refused:
        declared(tmp_path, inline(bad))
    assert str(refused.value) == (
        f"defs.yaml line {line}: training.window: expected a whole number, got 'four'"
    )


def test_the_second_component_of_a_defs_yaml_is_read_at_its_own_lines(tmp_path: Path) -> None:
    first = inline()
    second = inline(TINY.replace("name: tiny", "name: other").replace("window: 4", "window: []"))
    text = f"{first}---\n{second}"
    with pytest.raises(ProjectError, match=r"line (\d+): training\.window") as refused:
        declared(tmp_path, text, document=1)
    line = text.splitlines().index("      window: []") + 1
    assert f"line {line}: training.window" in str(refused.value)
    assert declared(tmp_path, text, document=0).spec.name == "tiny"


def test_a_flow_style_inline_spec_is_read_too(tmp_path: Path) -> None:
    text = TYPE + "attributes:\n  spec: {name: flow, task: binary, dataset: {}}\n"
    (tmp_path / "defs.yaml").write_text(text)
    # Only the value is kept, in its columns: the key and everything around it are blanked.
    assert inline_text(tmp_path / "defs.yaml", 3) == "\n\n        " + text.split("spec: ")[1]
    with pytest.raises(ProjectError, match=r"defs\.yaml line 3: dataset\.roles: required"):
        declared(tmp_path, text)


def test_a_ct_yaml_is_named_by_its_path_or_folder_relative_to_the_defs_folder(
    tmp_path: Path, tiny: Path
) -> None:
    folder = tmp_path / "defs" / "churn"
    folder.mkdir(parents=True)
    relative = Path("..", "..", tiny.name)
    for given in (relative, relative / "ct.yaml", tiny):
        project = declared(folder, f"{TYPE}attributes:\n  project: {given}\n")
        assert project.root == tiny
        assert project.home == tiny / ".ct"
        assert project.namespace.prefix == "tiny"


def test_key_prefix_names_the_namespace(tmp_path: Path, tiny: Path) -> None:
    text = f"{TYPE}attributes:\n  project: {tiny}\n  key_prefix: churn-v2\n"
    # Its keys carry the prefix; its runs still say which project they are of.
    assert declared(tmp_path, text).namespace == Namespace("churn_v2", project="tiny")
    with pytest.raises(ProjectError, match=r"line 4: key_prefix: empty"):
        declared(tmp_path, f"{TYPE}attributes:\n  project: {tiny}\n  key_prefix: ''\n")


def test_a_component_is_placed_as_a_fleets_project_is(tmp_path: Path, tiny: Path) -> None:
    text = f"{TYPE}attributes:\n  project: {tiny}\n"
    # CT_PROJECT names one project alone: it does not move a component's.
    assert declared(tmp_path, text, environ={"CT_PROJECT": str(tmp_path)}).home == tiny / ".ct"
    # CT_HOME and CT_LANDING_URL are roots holding a folder per project, as in a fleet.
    roots = {"CT_HOME": str(tmp_path / "homes"), "CT_LANDING_URL": "s3://drops"}
    placed = declared(tmp_path, text, environ=roots)
    assert placed.home == tmp_path / "homes" / "tiny"
    assert placed.landing == "s3://drops/tiny"
    with pytest.raises(ProjectError, match="CT_REGISTERED_MODEL=m: one registered model"):
        declared(tmp_path, text, environ={"CT_REGISTERED_MODEL": "m"})


@pytest.mark.parametrize(
    ("attributes", "refusal"),
    [
        ("  key_prefix: x\n", r"defs\.yaml line 2: give `project` .* not neither"),
        ("  project: a\n  spec: {name: b}\n", r"defs\.yaml line 2: give `project` .* not both"),
        ("  project: nowhere\n", r"defs\.yaml line 3: project: 'nowhere' .*no such file"),
        ("  project: .\n", r"defs\.yaml line 3: project: '\.' .*no ct\.yaml there"),
    ],
)
def test_what_a_defs_yaml_cannot_mean_is_refused_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attributes: str, refusal: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectError, match=refusal):
        declared(tmp_path, f"{TYPE}attributes:\n{attributes}")
