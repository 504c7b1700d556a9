"""Promotion gates, a registry: each gate is one module of this package that registers a
`Gate` (floor, margin, slices, infrastructure); the decision, the asset checks and lineage
iterate the registry. A gate judges the best candidate on one question and records its figures.
"""

from __future__ import annotations

import importlib
import pkgutil

from ct_assets.ml.contracts import Scored
from ct_assets.ml.gates.base import (
    Bound,
    Decision,
    Gate,
    GatePolicy,
    GateResult,
    at_least,
    not_run,
    parse_bounds,
)

__all__ = [
    "FLOOR",
    "GATES",
    "INFRASTRUCTURE",
    "MARGIN",
    "SLICES",
    "Bound",
    "Decision",
    "Gate",
    "GatePolicy",
    "GateResult",
    "at_least",
    "decide",
    "gates",
    "get",
    "names",
    "not_run",
    "parse_bounds",
    "register",
    "verdict",
]

_SUPPORT = frozenset({"base"})
_REGISTRY: dict[str, Gate] = {}


def register(gate: Gate) -> Gate:
    taken = _REGISTRY.get(gate.name)
    if taken is not None and type(taken) is not type(gate):
        raise ValueError(f"gate {gate.name!r} is registered twice")
    _REGISTRY[gate.name] = gate
    return gate


def unregister(name: str) -> None:
    """Remove a gate (tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def gates() -> list[Gate]:
    """Every registered gate, in the order they are judged and shown."""
    return sorted(_REGISTRY.values(), key=lambda g: (g.rank, g.name))


def names() -> tuple[str, ...]:
    return tuple(g.name for g in gates())


def get(name: str) -> Gate:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown gate {name!r}; known: {', '.join(names())}") from None


def decide(
    candidates: list[Scored], champion: Scored | None, policy: GatePolicy
) -> tuple[Scored | None, list[GateResult]]:
    """The best candidate in the primary metric and the evaluation gates judged on it.

    These gates are cheap, so all of them run and record their figures even after one refused;
    the infrastructure gate (a fresh process) is left to the caller, for a candidate all of
    these passed.
    """
    judged = [gate for gate in gates() if gate.on_evaluation]
    if not candidates:
        return None, [not_run(g.name, "no candidate to judge") for g in judged]
    sign = 1.0 if policy.direction.higher_is_better else -1.0
    best = max(candidates, key=lambda c: sign * c.value(policy.metric))
    return best, [gate.judge(best, champion, policy) for gate in judged]


def verdict(best: Scored | None, champion: Scored | None, results: list[GateResult]) -> Decision:
    """Promote only when every gate ran and passed; the reason is the first refusal, or all."""
    refused = next((r for r in results if not r.passed), None)
    if best is None:
        return Decision(False, "no candidate to judge", None, champion, results)
    if refused is not None:
        return Decision(False, f"{refused.gate} gate: {refused.reason}", best, champion, results)
    reason = "; ".join(f"{r.gate}: {r.reason}" for r in results)
    return Decision(True, reason, best, champion, results)


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _SUPPORT and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_discover()

# The built-in gates' names, for the one place each is wired in particular (the infrastructure
# gate's probe) and for tests; every other use iterates the registry.
FLOOR, MARGIN, SLICES, INFRASTRUCTURE = (
    get(n).name for n in ("floor", "margin", "slices", "infrastructure")
)
GATES = names()
