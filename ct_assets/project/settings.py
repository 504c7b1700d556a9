"""The effective configuration, with where each value comes from (`ct config`): a default,
a line of ct.yaml, or a CT_* variable; a secret's value masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from ct_assets.project.errors import dotted
from ct_assets.project.overrides import apply_overrides
from ct_assets.project.parse import decode_project_file, parse_spec
from ct_assets.project.spec import ProjectSpec, Threshold, looks_secret, without_credentials
from ct_assets.project.yaml_lines import given_at

DEFAULT_ORIGIN = "default"


@dataclass(frozen=True)
class Setting:
    """One leaf of the validated project: its dotted key, value (as JSON) and origin:
    `default`, `ct.yaml:<line>` or `env CT_...`."""

    key: str
    value: Any
    origin: str


def effective_settings(path: Path, environ: Mapping[str, str]) -> list[Setting]:
    """Every leaf of the project file's validated spec, defaults included, with its origin;
    a secret's value masked. Refuses a project `read_spec` refuses, with the same error."""
    text = decode_project_file(path.read_bytes(), path.name)
    spec = parse_spec(text, path.name, environ)
    # Parsed again for the origins: parse_spec keeps neither the node nor the override map.
    raw = yaml.safe_load(text) or {}
    overridden = apply_overrides(raw, environ, path.name, text)
    return settings_of(spec, yaml.compose(text), overridden, path.name)


def settings_of(
    spec: ProjectSpec, node: Any, overridden: Mapping[tuple[str, ...], str], name: str
) -> list[Setting]:
    """The leaves of `spec` in declaration order, each with its origin: the CT_* variable
    that set it (`overridden`, from `apply_overrides`), else the line of its key in the
    composed file `node`, else the model's default."""
    settings = []
    for loc, value in leaves(spec):
        variable = next((v for p, v in overridden.items() if loc[: len(p)] == p), None)
        given = given_at(node, loc)
        if variable is not None:
            origin = f"env {variable}"
        elif given is not None and (given[1] == len(loc) or explicitly_set(spec, loc)):
            origin = f"{name}:{given[0]}"
        else:
            origin = DEFAULT_ORIGIN
        settings.append(Setting(dotted(loc), masked(loc, value), origin))
    return settings


def leaves(value: Any, loc: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value as JSON) of every leaf of a validated model: models and mappings are
    walked, and lists of them; a list of plain values, an empty mapping, a scalar and a
    threshold (one value, shown as ct.yaml writes it: 0.01 or 1%) are leaves."""
    from pydantic_core import to_jsonable_python

    if isinstance(value, Threshold):
        return [(loc, value.text() if value.relative else value.value)]
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in leaves(item, (*loc, key))]
    if isinstance(value, list) and any(isinstance(item, BaseModel | dict) for item in value):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, (*loc, i))]
    return [(loc, to_jsonable_python(value))]


def explicitly_set(spec: BaseModel, loc: tuple[Any, ...]) -> bool:
    """Whether every model on the way to `loc` had its field given (pydantic's
    `model_fields_set`), rather than filled with the field's default."""
    current: Any = spec
    for part in loc:
        if isinstance(current, BaseModel):
            if part not in current.model_fields_set:
                return False
            current = getattr(current, part)
        elif isinstance(current, dict | list):
            current = current[part]
        else:
            break
    return True


def masked(loc: tuple[Any, ...], value: Any) -> Any:
    """A value as it may be shown: a secret's masked, a URL's credentials masked."""
    key = str(loc[-1]) if loc and not isinstance(loc[-1], int) else ""
    if not isinstance(value, str) or not looks_secret(key, value):
        return value
    shown = without_credentials(value)
    return shown if shown != value else "***"
