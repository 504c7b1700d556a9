"""Finding and reading a project: ct.yaml, then CT_* overrides, into one typed value.

Precedence: built-in defaults < ct.yaml < CT_* environment variables (`ENV_OVERRIDES`). Every
error names the file, the line when known, and the key path, e.g.
`ct.yaml line 12: dataset.columns.amount.checks.ge: expected a number, got 'ten'`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ct_assets.ingest.dialect import BOMS
from ct_assets.project.spec import (
    GRANULARITIES,
    TRANSFORM_OPS,
    ProjectSpec,
    Threshold,
    did_you_mean,
    looks_secret,
    parse_duration,
    without_credentials,
)

PROJECT_FILE = "ct.yaml"
# Folder under the project root holding everything ct writes (instance, data, models).
HOME_DIR = ".ct"

# A key of the project file by its path, e.g. ("quality", "min_positive_rate"): a column's name
# may hold a dot, so the path is kept in parts.
KeyPath = tuple[str, ...]
# Where the project file writes a key: its line, or None where it does not (a default).
Locate = Callable[[KeyPath], int | None]


@dataclass(frozen=True)
class Override:
    variable: str
    path: tuple[str, ...]
    description: str
    listed: bool = False  # a comma-separated list


# The one table of environment overrides (the README shows it; a test keeps the two equal).
ENV_OVERRIDES = (
    Override("CT_ENV", ("environment",), "local or production"),
    Override("CT_REGISTERED_MODEL", ("registered_model",), "the MLflow registered model"),
    Override("CT_PARTITION_START", ("partitions", "start"), "first partition (a date or time)"),
    Override("CT_GRANULARITY", ("partitions", "granularity"), ", ".join(GRANULARITIES)),
    Override("CT_TRAINING_WINDOW", ("training", "window"), "partitions per training window"),
    Override("CT_HOLDOUT_FRACTION", ("training", "holdout_fraction"), "share held out"),
    Override("CT_SPLIT_STRATEGY", ("training", "split"), "how the window is cut"),
    Override("CT_SPLIT_SEED", ("training", "seed"), "seed of random cuts"),
    Override("CT_CANDIDATES", ("training", "families"), "model families", listed=True),
    Override("CT_INCREMENTAL_ROUNDS", ("training", "incremental_rounds"), "trees per refresh"),
    Override("CT_FULL_RETRAIN_EVERY", ("training", "full_retrain_every"), "refresh chain bound"),
    Override("CT_HPO_TRIALS", ("training", "search", "trials"), "LightGBM search trials"),
    Override("CT_HPO_TIMEOUT", ("training", "search", "timeout"), "search time budget"),
    Override("CT_FEATURE_SELECTION", ("training", "selection", "enabled"), "on or off"),
    Override("CT_SELECTION_TOP_K", ("training", "selection", "top_k"), "keep the top K"),
    Override("CT_GATE_FLOORS", ("gates", "floors"), "bounds on holdout metrics", listed=True),
    Override("CT_PROMOTION_MARGIN", ("gates", "margin"), "margin over the champion"),
    Override("CT_SLICE_COLUMNS", ("gates", "slices", "columns"), "slice columns", listed=True),
    Override("CT_SLICE_MIN_ROWS", ("gates", "slices", "min_rows"), "rows to judge a slice"),
    Override("CT_SLICE_TOLERANCE", ("gates", "slices", "tolerance"), "largest slice loss"),
    Override("CT_LATENCY_BUDGET_MS", ("gates", "serving", "latency_ms_p95"), "p95 one row"),
    Override("CT_SIZE_BUDGET_MB", ("gates", "serving", "size_mb"), "model size budget"),
    Override("CT_DQ_BLOCKING", ("quality", "blocking"), "dimensions that stop", listed=True),
    Override("CT_DQ_MAX_LAG_HOURS", ("quality", "max_lag_hours"), "timeliness bound"),
    Override("CT_DRIFT_SHARE_THRESHOLD", ("drift", "threshold"), "share of drifted features"),
    Override("CT_SOURCE_FRESHNESS_WARN", ("freshness", "sources", "warn"), "source overdue"),
    Override("CT_SOURCE_FRESHNESS_FAIL", ("freshness", "sources", "fail"), "source failed"),
    Override("CT_MODEL_FRESHNESS_WARN", ("freshness", "model", "warn"), "decision overdue"),
    Override("CT_MODEL_FRESHNESS_FAIL", ("freshness", "model", "fail"), "retrain after"),
    Override("CT_LANDING_URL", ("sources", "landing"), "landing folder or s3:// URL"),
    Override("CT_SENSOR_INTERVAL", ("sources", "poll_interval"), "sensor interval"),
)
RETIRED = {
    "CT_AUC_FLOOR": "CT_GATE_FLOORS (e.g. CT_GATE_FLOORS='roc_auc>={value}')",
    "CT_SENSOR_INTERVAL_SECONDS": "CT_SENSOR_INTERVAL (e.g. CT_SENSOR_INTERVAL={value}s)",
    "CT_HPO_TIMEOUT_SECONDS": "CT_HPO_TIMEOUT (e.g. CT_HPO_TIMEOUT={value}s)",
    "CT_DATA_DIR": "CT_DATA_URL (a folder or s3://bucket/prefix, e.g. CT_DATA_URL={value})",
    "CT_OFFLINE_URL": "CT_DATA_URL: every stored artifact lives under one location",
}


class ProjectError(ValueError):
    """A project that cannot be found or read: the message says where and what to do."""


@dataclass(frozen=True)
class Project:
    """A declared project and where it lives: everything a stage needs to know."""

    spec: ProjectSpec
    root: Path
    home: Path
    # The project file as it was read: refusals name the line declaring their rule (empty: a
    # project not read from a file, whose rules are named without lines).
    text: str = field(default="", repr=False, compare=False)

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
        return self.home / "dagster_home"

    @property
    def poll_seconds(self) -> int:
        return max(1, round(parse_duration(self.spec.sources.poll_interval).total_seconds()))

    def duration(self, text: str) -> timedelta:
        return parse_duration(text)

    def with_spec(self, changes: Mapping[str, Any]) -> Project:
        """The same project with some keys changed (nested mappings merge), validated again."""
        merged = deep_merge(self.spec.model_dump(mode="json", exclude_unset=True), changes)
        return Project(ProjectSpec.model_validate(merged), self.root, self.home, self.text)


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
_MERGE_KEY = "<<"


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
        if key.value in first and key.value != _MERGE_KEY:
            raise ProjectError(
                f"{name} line {line}: {dotted}: given twice (first on line {first[key.value]}); "
                "YAML keeps only the last, so merge the two"
            )
        first[key.value] = line
        check_keys(value, name, dotted)


# ct's own variables beside the overrides: a CT_* variable near one of the overrides' names
# and none of these is a misspelt override, which would be silently ignored.
OTHER_VARIABLES = frozenset(
    {
        "CT_PROJECT",
        "CT_HOME",
        "CT_EXECUTOR",
        "CT_SOURCES",
        "CT_DATA_URL",
        "CT_S3_ENDPOINT_URL",
        "CT_DAGSTER_POSTGRES_URL",
        "CT_MLFLOW_ARTIFACT_ROOT",
        "CT_ONLINE_STORE_URL",
        "CT_ONLINE_STORE_PREFIX",
        "CT_ALERT_WEBHOOK_URL",
        "CT_PROCESS_TAG",
        "CT_REQUIRE_SERVICES",
    }
)


def misspelt_variables(environ: Mapping[str, str], declared: str) -> list[str]:
    """CT_* variables that are no variable of ct's but one letter or two from an override's
    name, each with the name it was probably meant to be. `declared`: the project file's text
    (a variable it names, for a source's secret, is the user's own)."""
    import difflib

    overrides = [o.variable for o in ENV_OVERRIDES]
    known = {*overrides, *RETIRED, *OTHER_VARIABLES}
    found = []
    for variable in sorted(environ):
        if not variable.startswith("CT_") or variable in known or variable in declared:
            continue
        close = difflib.get_close_matches(variable, overrides, n=1, cutoff=0.85)
        if close:
            found.append(f"{variable} is not a ct variable (did you mean {close[0]}?)")
    return found


def apply_overrides(
    raw: dict[str, Any], environ: Mapping[str, str], name: str, declared: str = ""
) -> dict[tuple[str, ...], str]:
    """Lay CT_* values over the parsed file, in place; returns path -> variable for errors."""
    for variable, replacement in RETIRED.items():
        if variable in environ:
            raise ProjectError(
                f"{variable} is replaced by {replacement.format(value=environ[variable])}"
            )
    misspelt = misspelt_variables(environ, declared)
    if misspelt:
        raise ProjectError("; ".join(misspelt) + ": it would be ignored")
    origin: dict[tuple[str, ...], str] = {}
    for override in ENV_OVERRIDES:
        if override.variable not in environ:
            continue
        value: Any = environ[override.variable]
        if override.listed:
            value = [part.strip() for part in str(value).split(",") if part.strip()]
        section = raw
        for key in override.path[:-1]:
            if not isinstance(section.get(key), dict):
                section[key] = {}
            section = section[key]
        section[override.path[-1]] = value
        origin[override.path] = override.variable
    pulled = environ.get("CT_SOURCES")
    if pulled:
        sections = {"sql_table": "sql", "redis_stream": "redis_stream", "http_api": "http_api"}
        sources = raw.setdefault("sources", {})
        for source in (s.strip() for s in pulled.split(",") if s.strip()):
            if source not in sections:
                raise ProjectError(
                    f"CT_SOURCES names unknown source {source!r}; known: "
                    f"{', '.join(sections)} (the file drop is always on)"
                )
            sources.setdefault(sections[source], {})
    return origin


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
        path = _dotted(loc)
        variable = next((v for p, v in origin.items() if loc[: len(p)] == p), None)
        if variable is not None:
            lines.append(f"{variable} ({path}): {message}")
            continue
        line = _line_of(node, loc)
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


def _dotted(loc: tuple[Any, ...]) -> str:
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


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
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


# -- the effective configuration, with where each value comes from (`ct config`) -----------------

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
        settings.append(Setting(_dotted(loc), masked(loc, value), origin))
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
        if key.value != _MERGE_KEY:
            continue
        merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in merged:
            if isinstance(source, yaml.MappingNode) and (inner := _entry(source, part)):
                return inner
    return None


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
