"""A project that cannot be read, in words: pydantic's validation errors said as ct.yaml
writes its keys, each with the file, the line when known and the key path, e.g.
`ct.yaml line 12: dataset.columns.amount.checks.ge: expected a number, got 'ten'`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from ct_assets.project.spec import TRANSFORM_OPS, ProjectSpec, did_you_mean
from ct_assets.project.yaml_lines import line_of


class ProjectError(ValueError):
    """A project that cannot be found or read: the message says where and what to do."""


_PATH_PREFIX = re.compile(r"^((?:[a-z_]+|\[\d+\])(?:\.[a-z_]+|\[\d+\])*)(?: \([^)]*\))?: ")


def format_errors(
    exc: ValidationError, name: str, node: Any, origin: dict[tuple[str, ...], str]
) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not _is_tag(p, error["loc"]))
        message = _message(error, loc)
        found = _PATH_PREFIX.match(message)
        if found and error["type"] == "value_error":
            # A cross-field rule names the key it is about relative to its section.
            loc = (*loc, *_split_path(found.group(1)))
            message = message[len(found.group(1)) :].lstrip(" :")
            message = re.sub(r"^\([^)]*\):\s*", "", message) if message.startswith("(") else message
        path = dotted(loc)
        variable = next((v for p, v in origin.items() if loc[: len(p)] == p), None)
        if variable is not None:
            lines.append(f"{variable} ({path}): {message}")
            continue
        line = line_of(node, loc)
        where = f"{name} line {line}" if line else name
        lines.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _is_tag(part: Any, loc: tuple[Any, ...]) -> bool:
    """Pydantic puts a union member's tag (transform op, union type name) into the path."""
    if part in TRANSFORM_OPS:
        i = loc.index(part)
        return i > 0 and isinstance(loc[i - 1], int)
    return isinstance(part, str) and (
        part in ("str", "int", "float", "bool") or part.startswith(("function-", "list["))
    )


def _split_path(text: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for piece in re.findall(r"[a-z_]+|\[\d+\]", text):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(parts)


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    if isinstance(value, date):
        # YAML reads an unquoted 2026-01-01 as a date, not as the text the key wants.
        return f"the date {value.isoformat()} (YAML reads it unquoted as a date: write '{value}')"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_EXPECTED = {
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "tuple_type": "expected a list",
}


def _message(error: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind, value = error["type"], error.get("input")
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {_shown(value)}"
    if kind == "extra_forbidden":
        known = _fields_at(loc[:-1])
        hint = did_you_mean(str(loc[-1]), known) if known else ""
        listed = f"; known keys: {', '.join(known)}" if known else ""
        return f"unknown key{hint}{listed}"
    if kind == "missing":
        return "required, but missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected {expected.replace(' or ', ', ')}, got {_shown(value)}"
    if kind == "union_tag_invalid":
        return f"unknown transform op {error['ctx']['tag']!r}; known: {', '.join(TRANSFORM_OPS)}"
    if kind == "union_tag_not_found":
        return f"says no op; one of {', '.join(TRANSFORM_OPS)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        ops = {
            "greater_than": ">",
            "greater_than_equal": ">=",
            "less_than": "<",
            "less_than_equal": "<=",
        }
        bound = next(iter(error.get("ctx", {}).values()), "")
        return f"must be {ops[kind]} {bound}, got {_shown(value)}"
    if kind == "string_pattern_mismatch":
        return f"{_shown(value)} has characters a name cannot hold (letters, digits, _ . -)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` knows, for a "did you mean" on an unknown one."""
    model: Any = ProjectSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            if model is ProjectSpec or "columns" not in str(loc):
                return []
            continue  # a column name under dataset.columns
        model = _model_of(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_of(annotation: Any) -> Any:
    import typing

    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None
