"""Where the project file writes a key: the line of a key path in the composed YAML, for
errors and refusals to name the line of ct.yaml that declares a rule (or that it is a default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

PROJECT_FILE = "ct.yaml"

# A key of the project file by its path, e.g. ("quality", "min_positive_rate"): a column's name
# may hold a dot, so the path is kept in parts.
KeyPath = tuple[str, ...]
# Where the project file writes a key: its line, or None where it does not (a default).
Locate = Callable[[KeyPath], int | None]
# YAML's merge key (`<<: *anchor`): it may repeat, and a key found under it is given.
MERGE_KEY = "<<"


def line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest key of `loc` found in the YAML document."""
    return _walk(node, loc)[0]


def _walk(node: Any, loc: tuple[Any, ...]) -> tuple[int | None, int]:
    """The line of the deepest key of `loc` found, and how many parts of `loc` were found."""
    line = None
    for depth, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, _ in node.value if k.value == part), None)
            if key is None:
                return line, depth
            line, node = key.start_mark.line + 1, match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line, depth
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line, depth
    return line, len(loc)


def key_line(text: str, key: KeyPath) -> int | None:
    """The line of the project file `text` that writes `key`; None where the file does not
    write it (the key holds its default) or cannot be read."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line, found = _walk(node, key)
    return line if key and found == len(key) else None


def declared_note(key: KeyPath, line: int | None) -> str:
    """Where a rule comes from, to close a message: the line of ct.yaml that declares it, or
    that it is a default (`line` None: not written)."""
    if not key:
        return ""
    dotted = ".".join(key)
    if line is None:
        return f"default: {dotted}"
    return f"declared at {PROJECT_FILE} line {line}: {dotted}"


def given_at(node: Any, loc: tuple[Any, ...]) -> tuple[int, int] | None:
    """Where the composed YAML `node` gives the value at `loc`: (the line of the deepest key
    of `loc` it spells out, how many parts of `loc` that key covers). Fewer parts than `loc`
    has when the file writes a shorthand that the model expands (`task: binary`, `margin:
    1%`); None when the file leaves the key out."""
    line = None
    for depth, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            entry = _entry(node, part)
            if entry is None:
                return None
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return None
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            # A plain value where the model has structure: the file's shorthand gives it.
            return None if line is None else (line, depth)
    return None if line is None else (line, len(loc))


def _entry(node: yaml.MappingNode, part: Any) -> tuple[Any, Any] | None:
    """The (key, value) nodes of `part` in a mapping, looking into `<<: *anchor` merges."""
    found = next(((k, v) for k, v in node.value if k.value == part), None)
    if found is not None:
        return found
    for key, value in node.value:
        if key.value != MERGE_KEY:
            continue
        merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in merged:
            if isinstance(source, yaml.MappingNode) and (inner := _entry(source, part)):
                return inner
    return None
