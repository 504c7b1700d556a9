"""The project a component's defs.yaml declares: a ct.yaml it names, or one written inline.

Either way the declaration is read by the project file's own reader (`parse_spec`), so an inline
`spec:` is validated exactly as a ct.yaml is, and a bad value is refused in one line naming the
defs.yaml, its line and the key (`defs.yaml line 14: task.kind: expected binary, regression,
got 'classify'`). The project is placed in its namespace (its name, or `key_prefix`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from dagster_shared.yaml_utils.source_position import SourcePositionTree

from ct_assets.names import Namespace
from ct_assets.project.fleet import place, shared_environ
from ct_assets.project.load import HOME_DIR, PROJECT_FILE, Project, ProjectError, load_project
from ct_assets.project.parse import parse_spec

# The attributes of the component, as defs.yaml writes them.
ATTRIBUTES = "attributes"


def declared_project(
    folder: Path,
    project: str | None,
    spec: Mapping[str, Any] | None,
    key_prefix: str | None,
    positions: SourcePositionTree | None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """The project of the component in `folder` (the defs.yaml's), in its namespace.

    `positions` is where defs.yaml writes each key (None for a component built in Python): it
    names the file and lines in errors and finds the inline spec's text.
    """
    variables = os.environ if environ is None else environ
    where = Where(folder, positions)
    # Placed as a fleet's projects are: beside the others of the code location.
    env = shared_environ(variables, where.at())
    if (project is None) == (spec is None):
        given = "both" if project is not None else "neither"
        raise ProjectError(
            f"{where.at()}: give `project` (a ct.yaml, or its folder) or `spec` (the project "
            f"written here), not {given}"
        )
    if project is not None:
        loaded = _from_file(folder, project, where, env)
    else:
        assert spec is not None
        loaded = _inline(folder, spec, where, env)
    prefix = loaded.spec.name if key_prefix is None else key_prefix
    # Its runs say the project's name whatever prefix its keys carry, as its assets do.
    namespace = replace(Namespace.of(prefix), project=loaded.spec.name)
    if not namespace.prefix:
        raise ProjectError(f"{where.at('key_prefix')}: key_prefix: empty; give a name, or omit it")
    return place(loaded, namespace, variables)


class Where:
    """Where defs.yaml writes the component's attributes: its file and the line of each."""

    def __init__(self, folder: Path, positions: SourcePositionTree | None) -> None:
        self.positions = positions
        self.file = Path(positions.position.filename) if positions else folder / "defs.yaml"

    @property
    def name(self) -> str:
        """The defs.yaml as its user would type it: relative to the current folder if within."""
        try:
            return str(self.file.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(self.file)

    def line(self, key: str | None = None) -> int | None:
        if self.positions is None:
            return None
        path = [ATTRIBUTES, key] if key else [ATTRIBUTES]
        found = self.positions.lookup(path)
        return found.start.line if found else None

    def at(self, key: str | None = None) -> str:
        line = self.line(key)
        return f"{self.name} line {line}" if line else self.name


def _from_file(folder: Path, given: str, where: Where, env: Mapping[str, str]) -> Project:
    path = Path(given).expanduser()
    path = (path if path.is_absolute() else folder / path).resolve()
    file = path / PROJECT_FILE if path.is_dir() else path
    if file.name != PROJECT_FILE or not file.is_file():
        what = "no such file or folder" if not path.exists() else f"no {PROJECT_FILE} there"
        raise ProjectError(
            f"{where.at('project')}: project: {given!r} ({path}): {what}; name a "
            f"{PROJECT_FILE} or the folder holding one, relative to {folder}"
        )
    return load_project(file.parent, env)


def _inline(folder: Path, spec: Mapping[str, Any], where: Where, env: Mapping[str, str]) -> Project:
    text = inline_text(where.file, where.line("spec")) if where.positions else None
    if text is None:
        # Built in Python, or defs.yaml changed since Dagster read it: the mapping itself.
        text = yaml.safe_dump(dict(spec), sort_keys=False)
    return Project(parse_spec(text, where.name, env), folder, folder / HOME_DIR, text)


def inline_text(file: Path, line: int | None) -> str | None:
    """defs.yaml with everything but the value of the `spec` key on `line` blanked: a project
    file whose line numbers are defs.yaml's, so every error and refusal names the right line.
    None when the file no longer writes a spec there."""
    if line is None or not file.is_file():
        return None
    text = file.read_text(encoding="utf-8")
    try:
        documents = list(yaml.compose_all(text))
    except yaml.YAMLError:
        return None
    value = next((v for d in documents if (v := _spec_value(d, line)) is not None), None)
    if value is None:
        return None
    start, end = value.start_mark.index, value.end_mark.index
    kept = "".join(c if start <= i < end or c == "\n" else " " for i, c in enumerate(text))
    return "\n".join(row.rstrip() for row in kept.split("\n"))


def _spec_value(document: yaml.Node | None, line: int) -> yaml.Node | None:
    """The value of `attributes.spec` in one document of defs.yaml, if its key is on `line`."""
    attributes = _entry(document, ATTRIBUTES)
    spec = _entry(attributes[1], "spec") if attributes else None
    return spec[1] if spec and spec[0].start_mark.line + 1 == line else None


def _entry(node: yaml.Node | None, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next(((k, v) for k, v in node.value if k.value == name), None)
