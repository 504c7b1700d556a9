"""The floor: absolute bounds on the best candidate's holdout metrics (`gates.floors`)."""

from __future__ import annotations

from typing import Any

from ct_assets.ml.contracts import Scored
from ct_assets.ml.gates import register
from ct_assets.ml.gates.base import Bound, Gate, GateResult, GateSettings
from ct_assets.project.spec import ProjectSpec

NAME = "floor"


def floor_gate(best: Scored, floors: tuple[Bound, ...]) -> GateResult:
    figures: dict[str, Any] = {}
    broken = []
    for bound in floors:
        measured = best.metrics.get(bound.metric)
        if measured is None:
            raise ValueError(f"floor {bound}: {best.label} has no metric {bound.metric!r}")
        figures[bound.metric] = measured
        figures[f"{bound.metric}_bound"] = f"{bound.op} {bound.value:g}"
        if not bound.holds(measured):
            broken.append(f"{bound.metric} {measured:.4f} breaks {bound}")
    if broken:
        return GateResult(NAME, False, f"{best.label}: {'; '.join(broken)}", figures)
    held = ", ".join(str(b) for b in floors) or "no floor set"
    return GateResult(NAME, True, f"{best.label} holds {held}", figures)


class Floor(Gate):
    name = NAME
    rank = 10
    compares = False

    def describe(self, spec: ProjectSpec) -> str:
        return "The best candidate's holdout metrics hold every floor: " + (
            ", ".join(spec.floors) or "none set"
        )

    def judge(self, best: Scored, champion: Scored | None, settings: GateSettings) -> GateResult:
        return floor_gate(best, settings.floors)


register(Floor())
