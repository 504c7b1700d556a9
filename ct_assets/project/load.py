"""Finding and reading a project: ct.yaml, then CT_* overrides, into one typed value.

Precedence: built-in defaults < ct.yaml < CT_* environment variables (`ENV_OVERRIDES`). Every
error names the file, the line when known, and the key path, e.g.
`ct.yaml line 12: dataset.columns.amount.checks.ge: expected a number, got 'ten'`.

The reading itself is split by concern, and every name is importable from here as before:
`parse` (decoding, YAML, validation), `overrides` (CT_* variables), `errors` (messages),
`yaml_lines` (the line of a key) and `settings` (`ct config`'s origins).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from ct_assets.names import Namespace
from ct_assets.project.errors import ProjectError, format_errors
from ct_assets.project.overrides import (
    ENV_OVERRIDES,
    OTHER_VARIABLES,
    RETIRED,
    Override,
    apply_overrides,
    misspelt_variables,
)
from ct_assets.project.parse import check_keys, decode_project_file, parse_spec
from ct_assets.project.settings import (
    DEFAULT_ORIGIN,
    Setting,
    effective_settings,
    explicitly_set,
    leaves,
    masked,
    settings_of,
)
from ct_assets.project.spec import ProjectSpec, parse_duration
from ct_assets.project.yaml_lines import (
    PROJECT_FILE,
    KeyPath,
    Locate,
    declared_note,
    given_at,
    key_line,
)

__all__ = [
    "DEFAULT_ORIGIN",
    "ENV_OVERRIDES",
    "HOME_DIR",
    "OTHER_VARIABLES",
    "PROJECT_FILE",
    "RETIRED",
    "KeyPath",
    "Locate",
    "Override",
    "Project",
    "ProjectError",
    "Setting",
    "apply_overrides",
    "check_keys",
    "declared_note",
    "decode_project_file",
    "deep_merge",
    "effective_settings",
    "explicitly_set",
    "find_root",
    "format_errors",
    "given_at",
    "key_line",
    "leaves",
    "load_project",
    "masked",
    "misspelt_variables",
    "parse_spec",
    "read_spec",
    "settings_of",
]


# Folder under the project root holding everything ct writes (instance, data, models).
HOME_DIR = ".ct"


@dataclass(frozen=True)
class Project:
    """A declared project and where it lives: everything a stage needs to know."""

    spec: ProjectSpec
    root: Path
    home: Path
    # The project file as it was read: refusals name the line declaring their rule (empty: a
    # project not read from a file, whose rules are named without lines).
    text: str = field(default="", repr=False, compare=False)
    # Where its definitions live among others' (bare: a lone install, as ct always had it).
    namespace: Namespace = field(default_factory=Namespace)
    # The Dagster home it shares with the other projects of its fleet (None: its own).
    instance_home: Path | None = None

    @property
    def file(self) -> Path:
        return self.root / PROJECT_FILE

    def locate(self, key: KeyPath) -> int | None:
        """The line of ct.yaml declaring `key`, None where it holds its default."""
        return key_line(self.text, key)

    @property
    def landing(self) -> str:
        """Where files are dropped: an s3:// URL, or a folder (relative to the project)."""
        where = self.spec.sources.landing
        return where if "://" in where else str((self.root / where).resolve())

    @property
    def landing_dir(self) -> Path:
        if "://" in self.spec.sources.landing:
            raise ValueError(f"landing is {self.spec.sources.landing}, not a local folder")
        return Path(self.landing)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def dagster_home(self) -> Path:
        return self.instance_home or self.home / "dagster_home"

    @property
    def poll_seconds(self) -> int:
        return max(1, round(parse_duration(self.spec.sources.poll_interval).total_seconds()))

    def duration(self, text: str) -> timedelta:
        return parse_duration(text)

    def with_spec(self, changes: Mapping[str, Any]) -> Project:
        """The same project with some keys changed (nested mappings merge), validated again."""
        merged = deep_merge(self.spec.model_dump(mode="json", exclude_unset=True), changes)
        return replace(self, spec=ProjectSpec.model_validate(merged))

    def in_namespace(self, namespace: Namespace, instance_home: Path | None = None) -> Project:
        """The same project placed in a deployment it shares with others."""
        return replace(self, namespace=namespace, instance_home=instance_home)


def deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` laid over it: nested mappings merge, anything else replaces."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def find_root(explicit: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """`--project DIR`, else CT_PROJECT, else the current directory; it must hold ct.yaml."""
    env = os.environ if environ is None else environ
    chosen = explicit or env.get("CT_PROJECT") or Path.cwd()
    root = Path(chosen).expanduser().resolve()
    if root.is_file() and root.name == PROJECT_FILE:
        root = root.parent
    if not (root / PROJECT_FILE).is_file():
        how = "--project" if explicit else "CT_PROJECT" if env.get("CT_PROJECT") else "the cwd"
        raise ProjectError(
            f"no {PROJECT_FILE} in {root} (from {how}): run `ct init --from FILE` to create "
            "one, or point --project / CT_PROJECT at a folder that has one"
        )
    return root


def load_project(
    explicit: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Project:
    env = os.environ if environ is None else environ
    root = find_root(explicit, env)
    path = root / PROJECT_FILE
    text = decode_project_file(path.read_bytes(), path.name)
    spec = parse_spec(text, path.name, env)
    home = Path(env["CT_HOME"]).resolve() if env.get("CT_HOME") else root / HOME_DIR
    if home.exists() and not home.is_dir():
        how = "CT_HOME" if env.get("CT_HOME") else "the project's home"
        raise ProjectError(f"{how} {home}: a file, not the folder where ct writes")
    return Project(spec, root, home, text)


def read_spec(path: Path, environ: Mapping[str, str] | None = None) -> ProjectSpec:
    """Parse and validate one ct.yaml with the environment's overrides laid over it."""
    text = decode_project_file(path.read_bytes(), path.name)
    return parse_spec(text, path.name, {} if environ is None else environ)
