"""The text of a project file into a validated spec: decoded as editors save it, YAML read
with what YAML misreads refused at its line, CT_* overrides laid over it, then validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from ct_assets.ingest.dialect import BOMS
from ct_assets.project.errors import ProjectError, format_errors
from ct_assets.project.overrides import apply_overrides
from ct_assets.project.spec import ProjectSpec
from ct_assets.project.yaml_lines import MERGE_KEY


def decode_project_file(data: bytes, name: str) -> str:
    """A project file as editors save it: UTF-8 with or without a byte-order mark, or UTF-16
    or UTF-32 with one (Windows editors write them); anything else is refused at its line."""
    codec, label = next(((c, c.upper()) for b, c in BOMS if data.startswith(b)), ("utf-8", ""))
    if codec == "utf-8" and label:
        codec = "utf-8-sig"  # the mark is not the first key's first character
    if not label and b"\x00" in data:
        raise ProjectError(
            f"{name}: holds NUL bytes: UTF-16 or UTF-32 text without a byte-order mark? "
            "save it as UTF-8"
        )
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProjectError(
            f"{name} line {line}: not {label or 'UTF-8'} text (byte 0x{data[exc.start]:02x}): "
            "save it as UTF-8"
        ) from None


def parse_spec(text: str, name: str, environ: Mapping[str, str]) -> ProjectSpec:
    try:
        node = yaml.compose(text)
        check_keys(node, name)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProjectError(f"{name}{where}: not valid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProjectError(f"{name}: expected a mapping of sections, got {type(raw).__name__}")
    overridden = apply_overrides(raw, environ, name, text)
    try:
        return ProjectSpec.model_validate(raw)
    except ValidationError as exc:
        raise ProjectError(format_errors(exc, name, node, overridden)) from None


_BOOL_TAG = "tag:yaml.org,2002:bool"


def check_keys(node: Any, name: str, path: str = "") -> None:
    """What YAML accepts and then misreads, refused with the line: a key given twice (YAML
    keeps the last, so a second `training:` silently replaces the first whole), and a plain
    key YAML reads as true or false (`on:`, `yes:`, `off:`)."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            check_keys(item, name, f"{path}[{i}]")
        return
    if not isinstance(node, yaml.MappingNode):
        return
    first: dict[str, int] = {}
    for key, value in node.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode):
            raise ProjectError(f"{name} line {line}: {path or 'the file'}: a key must be text")
        dotted = f"{path}.{key.value}" if path else key.value
        if key.tag == _BOOL_TAG and key.style is None:
            raise ProjectError(
                f"{name} line {line}: {dotted}: YAML reads the key {key.value!r} as "
                f"{yaml.safe_load(key.value)!r}; quote it ('{key.value}')"
                + (": retrain triggers are policy.retrain.triggers" if key.value == "on" else "")
            )
        if key.value in first and key.value != MERGE_KEY:
            raise ProjectError(
                f"{name} line {line}: {dotted}: given twice (first on line {first[key.value]}); "
                "YAML keeps only the last, so merge the two"
            )
        first[key.value] = line
        check_keys(value, name, dotted)
