"""Sections: the ct.yaml sections besides the features, in the order the file shows them.

The name, task and dataset from the roles and declarations; `dataset.format` from the sniffed
dialect; partitions, training, gates, drift, freshness, policy and sources with ct's defaults fitted
to the task and sample; quality (with positive-rate bounds where the label's balance needs room)
and serving written whole, so that what decides a refusal is in the file the user reviews.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pydantic import BaseModel

from ct_assets.ingest.dialect import Delivery
from ct_assets.ingest.sniff import Sniffed
from ct_assets.ml import balance
from ct_assets.ml.vocabulary import BINARY, REGRESSION
from ct_assets.project.infer.base import Guess, InitOptions
from ct_assets.project.infer.declare import Declared
from ct_assets.project.infer.features import TRAINING_WINDOW
from ct_assets.project.infer.profile import Profile, plain, shown_value
from ct_assets.project.infer.words import project_name
from ct_assets.project.spec import (
    Drift,
    Freshness,
    Gates,
    Partitions,
    Quality,
    ServingSettings,
    Sources,
    Task,
    Threshold,
    Training,
    default_policy,
)
from ct_assets.project.spec.task_defaults import TASK_DEFAULTS

# Always written for a text sample, so the dialect in force is visible; the rest when not ct's
# default.
_FORMAT_SHOWN = ("delimiter", "decimal", "encoding")


def format_section(dialect: Sniffed) -> dict[str, Any]:
    """`dataset.format` as `ct init` writes it: what was found, ct's defaults left out."""
    found = dialect.delivery.model_dump()
    default = Delivery().model_dump()
    return {
        k: v
        for k, v in found.items()
        if (k in _FORMAT_SHOWN and k in dialect.reasons) or v != default[k]
    }


_ORDER = (
    "name",
    "task",
    "dataset",
    "features",
    "partitions",
    "training",
    "gates",
    "quality",
    "drift",
    "freshness",
    "policy",
    "serving",
    "sources",
)


def in_file_order(spec: dict[str, Any]) -> dict[str, Any]:
    """The sections of `spec` in the order ct.yaml shows them."""
    return {k: spec[k] for k in _ORDER if k in spec}


# The quality keys that decide what is refused or set aside, and the serving keys that decide
# who answers a request: written by `ct init` with the models' own defaults.
_QUALITY_SHOWN = ("max_bad_row_share", "max_null_share", "duplicate_rows")
_BALANCE = ("min_positive_rate", "max_positive_rate")
_SERVING_SHOWN = (
    "host",
    "port",
    "max_batch_rows",
    "latency_budget_ms",
    "canary_fraction",
    "shadow",
)


def quality_section(inferred: dict[str, Any], binary: bool) -> dict[str, Any]:
    defaults = Quality().model_dump()
    keys = _QUALITY_SHOWN + (_BALANCE if binary else ())
    section = {k: inferred.get(k, defaults[k]) for k in keys}
    return section | {k: v for k, v in inferred.items() if k not in section}


def serving_section() -> dict[str, Any]:
    defaults = ServingSettings().model_dump()
    return {k: defaults[k] for k in _SERVING_SHOWN}


def declaration_sections(
    options: InitOptions,
    roles: dict[str, Guess],
    task: Guess,
    positive: Guess | None,
    declared: dict[str, Declared],
    columns: list[str],
) -> dict[str, Any]:
    """`name`, `task` and `dataset` (roles and columns): what the guesses and declarations say."""
    task_section: dict[str, Any] = {"type": task.column}
    if positive is not None:
        task_section["positive"] = positive.column
    task_section["metric"] = Task.model_validate({"type": task.column}).primary
    return {
        "name": project_name(options.name),
        "task": task_section,
        "dataset": {
            "roles": {r: g.column for r, g in roles.items() if g.column is not None},
            "columns": {n: declared[n].value for n in columns},
        },
    }


def default_sections(task: str | None, time: Profile, slices: list[str]) -> dict[str, Any]:
    """Partitions, training, gates, drift, freshness, policy and sources: ct's defaults (the
    models' own, and the task's from `task_defaults`), fitted to the sample's first day and the
    chosen slices."""
    start = pd.DatetimeIndex(time.counts.index).min()
    gates = Gates.model_validate(TASK_DEFAULTS[BINARY if task == BINARY else REGRESSION]["gates"])
    freshness = Freshness()
    return {
        "partitions": {"granularity": Partitions().granularity, "start": f"{start:%Y-%m-%d}"},
        "training": {
            "window": TRAINING_WINDOW,
            **written(Training(), "holdout_fraction", "split", "families"),
            "windows": list(Training(window=TRAINING_WINDOW).candidate_windows),
        },
        "gates": {
            **written(gates, "floors", "margin"),
            "slices": {"columns": list(slices), **written(gates.slices, "min_rows", "tolerance")},
        },
        "drift": written(Drift(), "threshold"),
        "freshness": {
            "sources": written(freshness.sources, "warn", "fail"),
            "model": written(freshness.model, "warn", "fail"),
        },
        "policy": policy_section(task or BINARY),
        "sources": written(Sources(), "landing"),
    }


def written(section: BaseModel, *keys: str) -> dict[str, Any]:
    """Some keys of a section as ct.yaml writes them (a threshold as 0.01 or '1%')."""
    return {key: _value(getattr(section, key)) for key in keys}


def _value(value: Any) -> Any:
    if isinstance(value, Threshold):
        return _threshold(value)
    return list(value) if isinstance(value, list | tuple) else value


def _threshold(value: Threshold) -> float | str:
    return value.text() if value.relative else value.value


def policy_section(task: str) -> dict[str, Any]:
    """The policy in force for the task, as ct.yaml writes it: nothing that decides a retrain,
    a promotion's fate or a rollback is left unwritten."""
    policy = default_policy(task)
    retrain, rollback = policy.retrain, policy.rollback
    return {
        "retrain": {
            "triggers": list(retrain.triggers),
            "performance_margin": _threshold(retrain.performance_margin),
        },
        "evaluation_gap": _threshold(policy.evaluation_gap),
        "label_shift": policy.label_shift,
        "rollback": {
            "enabled": rollback.enabled,
            "margin": _threshold(rollback.margin),
            "on_evaluation_gap": rollback.on_evaluation_gap,
            "min_partitions": rollback.min_partitions,
            "baking": {"partitions": rollback.baking.partitions},
        },
    }


def label_balance(
    label: Profile, positive: Guess | None, time: Profile
) -> tuple[dict[str, float], str]:
    """Positive-rate bounds with room on both sides of the sample's share, when the defaults
    (label_balance blocks by default) are too near it, and what they mean for a day."""
    if positive is None:
        return {}, ""
    counts = {plain(v): int(c) for v, c in zip(label.counts.index, label.counts, strict=True)}
    rows = sum(counts.values())
    share = counts.get(positive.column, 0) / max(1, rows)
    defaults = Quality()
    bounds: dict[str, float] = {}
    if share < 2 * defaults.min_positive_rate:
        bounds["min_positive_rate"] = math.floor(share / 2 * 10_000) / 10_000
    if share > 1 - 2 * (1 - defaults.max_positive_rate):
        bounds["max_positive_rate"] = math.ceil((1 - (1 - share) / 2) * 10_000) / 10_000
    if not bounds:
        return {}, ""
    others = [v for v in counts if v != positive.column]
    days = max(1, pd.DatetimeIndex(time.counts.index).normalize().nunique())
    reason = (
        f"The sample's share of {shown_value(positive.column)} is "
        f"{balance.percent(share)} ({counts.get(positive.column, 0):,} of {rows:,} rows), near "
        f"ct's default bounds ({balance.percent(defaults.min_positive_rate)} to "
        f"{balance.percent(defaults.max_positive_rate)}): set to half the distance to 0 or 1. "
        "A batch is judged by its count at these rates, refused only when a count as far out "
        f"has under a {balance.percent(balance.IMPLAUSIBLE)} chance"
    )
    for key, value, missing in (
        ("min_positive_rate", bounds.get("min_positive_rate"), positive.column),
        ("max_positive_rate", bounds.get("max_positive_rate"), others[0] if others else None),
    ):
        if value is None or missing is None:
            continue
        rate = value if key == "min_positive_rate" else 1 - value
        refused = balance.rows_to_refuse_none(rate)
        if refused is not None:
            reason += (
                f"; a batch with no {shown_value(missing)} goes on up to {refused - 1:,} rows "
                f"and is refused from {refused:,} (the sample's days hold about "
                f"{rows / days:,.0f} rows)"
            )
    return bounds, reason + "."
