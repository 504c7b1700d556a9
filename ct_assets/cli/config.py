"""`ct config [KEY] [--json]`: the project's effective configuration, every value with its
origin (`default`, `ct.yaml:<line>` or `env CT_...`), as `git config --show-origin` shows it.

Touches no instance: it reads ct.yaml and the environment only (`project.load`)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ct_assets.cli import command_parser, project_option
from ct_assets.project.load import ProjectError

if TYPE_CHECKING:
    from ct_assets.project.load import Setting

# A longer value is not padded to: the origin follows it after two spaces.
MAX_VALUE_WIDTH = 48


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "config",
        summary="the effective configuration, each value with where it came from",
        description="""Print the project's effective configuration: every key of the validated
        ct.yaml, defaults included, with its value and its origin: `default`, `ct.yaml:<line>`
        (the line of the key in the file) or `env CT_...` (the variable that overrides it).
        Secret values are masked. Touches no instance.""",
        examples=["ct config", "ct config training", "ct config gates.margin --json"],
    )
    project_option(parser)
    parser.add_argument(
        "key", nargs="?", help="show only this key and the keys under it (e.g. training)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ct_assets.cli.context import fleet_folder, project_of
    from ct_assets.project.load import PROJECT_FILE, effective_settings, find_root

    # A lone project's file is read by its settings alone; a fleet's projects are read first,
    # to find the one named.
    if fleet_folder(args, os.environ):
        root = project_of(args).root
    else:
        root = find_root(getattr(args, "project", None))
    settings = selected(effective_settings(root / PROJECT_FILE, os.environ), args.key)
    if args.json:
        shown = {s.key: {"value": s.value, "origin": s.origin} for s in settings}
        print(json.dumps(shown, indent=2))
    else:
        print(table(settings))
    return 0


def under(key: str, prefix: str) -> bool:
    """`key` is `prefix` or one of the keys inside it (a whole part, not a partial word)."""
    return key == prefix or key.startswith((f"{prefix}.", f"{prefix}["))


def selected(settings: Sequence[Setting], prefix: str | None) -> list[Setting]:
    """The settings under `prefix` (all without one); an unknown prefix is refused."""
    from ct_assets.project.spec import did_you_mean

    if not prefix:
        return list(settings)
    chosen = [s for s in settings if under(s.key, prefix)]
    if not chosen:
        # Suggest among the keys at the prefix's own depth (`trainin` -> `training`).
        depth = prefix.count(".")
        known = list(dict.fromkeys(".".join(s.key.split(".")[: depth + 1]) for s in settings))
        raise ProjectError(f"no key {prefix!r} in the configuration{did_you_mean(prefix, known)}")
    return chosen


def shown(value: Any) -> str:
    """A value in the table: text as it is (quoted when empty or padded), the rest as JSON."""
    if isinstance(value, str) and value and value == value.strip():
        return value
    return json.dumps(value)


def table(settings: Sequence[Setting]) -> str:
    """Key, value and origin, aligned in columns."""
    rows = [(s.key, shown(s.value), s.origin) for s in settings]
    key_width = max((len(k) for k, _, _ in rows), default=0)
    value_width = min(MAX_VALUE_WIDTH, max((len(v) for _, v, _ in rows), default=0))
    return "\n".join(
        f"{key:<{key_width}}  {value:<{value_width}}  {origin}" for key, value, origin in rows
    )
