"""CT_* environment variables laid over ct.yaml (`ENV_OVERRIDES`), and the variables refused
rather than silently ignored: retired ones and misspellings of an override's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ct_assets.project.errors import ProjectError
from ct_assets.project.spec import GRANULARITIES, Sources


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
        sections = Sources.sections()
        sources = raw.setdefault("sources", {})
        for source in (s.strip() for s in pulled.split(",") if s.strip()):
            if source not in sections:
                raise ProjectError(
                    f"CT_SOURCES names unknown source {source!r}; known: "
                    f"{', '.join(sections)} (the file drop is always on)"
                )
            sources.setdefault(sections[source], {})
    return origin
