"""Promotion gates, a registry: each gate is one module of this package that registers a
`Gate` (floor, margin, slices, infrastructure); the decision, the asset checks and lineage
iterate the registry. A gate judges the best candidate on one question and records its figures.
"""

from __future__ import annotations

from ct_assets.ml.contracts import Scored
from ct_assets.ml.gates.base import (
    Bound,
    Decision,
    Gate,
    GateResult,
    GateSettings,
    at_least,
    not_run,
    parse_bounds,
)
from ct_assets.ml.registry import Registry

__all__ = [
    "FLOOR",
    "GATES",
    "INFRASTRUCTURE",
    "MARGIN",
    "SLICES",
    "Bound",
    "Decision",
    "Gate",
    "GateResult",
    "GateSettings",
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
_REGISTRY: Registry[Gate] = Registry(
    "gate", lambda g: g.name, order=lambda g: g.rank, same=lambda a, b: type(a) is type(b)
)
register = _REGISTRY.register
unregister = _REGISTRY.unregister
names = _REGISTRY.names
get = _REGISTRY.get
# Every registered gate, in the order they are judged and shown.
gates = _REGISTRY.items


def decide(
    candidates: list[Scored], champion: Scored | None, settings: GateSettings
) -> tuple[Scored | None, list[GateResult]]:
    """The best candidate in the primary metric and the evaluation gates judged on it.

    These gates are cheap, so all of them run and record their figures even after one refused;
    the infrastructure gate (a fresh process) is left to the caller, for a candidate all of
    these passed.
    """
    judged = [gate for gate in gates() if gate.on_evaluation]
    if not candidates:
        return None, [not_run(g.name, "no candidate to judge") for g in judged]
    sign = 1.0 if settings.direction.higher_is_better else -1.0
    best = max(candidates, key=lambda c: sign * c.value(settings.metric))
    return best, [gate.judge(best, champion, settings) for gate in judged]


def verdict(best: Scored | None, champion: Scored | None, results: list[GateResult]) -> Decision:
    """Promote only when every gate ran and passed; the reason is the first refusal, or all."""
    refused = next((r for r in results if not r.passed), None)
    if best is None:
        return Decision(False, "no candidate to judge", None, champion, results)
    if refused is not None:
        return Decision(False, f"{refused.gate} gate: {refused.reason}", best, champion, results)
    reason = "; ".join(f"{r.gate}: {r.reason}" for r in results)
    return Decision(True, reason, best, champion, results)


_REGISTRY.discover(__name__, __path__, _SUPPORT)

# The built-in gates' names, for the one place each is wired in particular (the infrastructure
# gate's probe) and for tests; every other use iterates the registry.
FLOOR, MARGIN, SLICES, INFRASTRUCTURE = (
    get(n).name for n in ("floor", "margin", "slices", "infrastructure")
)
GATES = names()
