"""The defaults that depend on the task, written once.

A binary metric (ROC AUC) is on the same 0-1 scale in every project, so its margins are
absolute; a regression metric (an RMSE) is in the label's units, so its margins are shares of
the baseline. `ProjectSpec` fills these into a declaration before it validates (what is declared
wins), so `ct config`, the gates, the policy in force and `ct init`'s sections all read the same
values. Defaults that do not depend on the task are the section models' own field defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ct_assets.ml.vocabulary import BINARY, REGRESSION

TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    BINARY: {
        "gates": {"floors": ["roc_auc >= 0.6"], "margin": 0.01, "slices": {"tolerance": 0.05}},
        # The policy's own defaults (absolute margins) are the binary ones.
    },
    REGRESSION: {
        "gates": {"floors": ["r2 >= 0"], "margin": "1%", "slices": {"tolerance": "10%"}},
        "policy": {
            "retrain": {"performance_margin": "5%"},
            "rollback": {"margin": "2%"},
            "evaluation_gap": "10%",
        },
    },
}


def with_defaults(declared: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`declared` with every key it leaves out (or sets to null) taken from `defaults`,
    section by section."""
    out = dict(declared)
    for key, default in defaults.items():
        given = out.get(key)
        if isinstance(default, Mapping) and (given is None or isinstance(given, Mapping)):
            out[key] = with_defaults(given or {}, default)
        elif given is None:
            out[key] = default
    return out


def task_type(data: Mapping[str, Any]) -> str | None:
    """The task a raw declaration names (`task: binary` or `task: {type: binary}`)."""
    task = data.get("task")
    named = task.get("type") if isinstance(task, Mapping) else task
    return named if named in TASK_DEFAULTS else None


def for_task(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A raw declaration with its task's defaults filled in (unchanged without a known task)."""
    task = task_type(data)
    return data if task is None else with_defaults(data, TASK_DEFAULTS[task])
