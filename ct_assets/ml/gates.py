"""Promotion gates: each judges the best candidate on one question and records its figures.

The floor (absolute bounds on holdout metrics), the margin over the champion (the lower bound of
a paired-bootstrap interval of the improvement must clear it, so noise does not promote), and
slices (no slice may be worse by more than a tolerance) are decided here on evaluation figures.
Every comparison follows the primary metric's direction (higher ROC AUC, lower RMSE), and every
message says which way is better. The infrastructure gate needs a fresh process and is judged
from its probe's figures (`infra_validation`).
"""

from __future__ import annotations

import operator
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ct_assets.ml.contracts import Scored
from ct_assets.ml.vocabulary import CONFIDENCE, METRIC, METRICS, Metric
from ct_assets.project.spec import ProjectSpec, Threshold

FLOOR, MARGIN, SLICES, INFRASTRUCTURE = "floor", "margin", "slices", "infrastructure"
GATES = (FLOOR, MARGIN, SLICES, INFRASTRUCTURE)
_OPS = {">=": operator.ge, "<=": operator.le}
_BOUND = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=)\s*(-?[0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class Bound:
    """An absolute floor (or ceiling) on one holdout metric, e.g. `roc_auc >= 0.6`."""

    metric: str
    op: str
    value: float

    def holds(self, measured: float) -> bool:
        return bool(_OPS[self.op](measured, self.value))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_bounds(text: str, known: frozenset[str] | None = None) -> tuple[Bound, ...]:
    """`roc_auc>=0.6, brier<=0.2` -> bounds; an unknown metric or form is named in the error."""
    bounds = []
    for part in (p for p in text.split(",") if p.strip()):
        found = _BOUND.match(part)
        if not found:
            raise ValueError(f"{part.strip()!r} is not a bound such as roc_auc>=0.6 or rmse<=3")
        metric, op, value = found.groups()
        if known is not None and metric not in known:
            raise ValueError(f"{part.strip()!r}: unknown metric {metric!r}; known: {sorted(known)}")
        bounds.append(Bound(metric, op, float(value)))
    return tuple(bounds)


@dataclass(frozen=True)
class GatePolicy:
    metric: str = "roc_auc"
    floors: tuple[Bound, ...] = (Bound("roc_auc", ">=", 0.6),)
    margin: Threshold = field(default_factory=lambda: Threshold(value=0.01))
    # Largest loss of any judged slice against the champion on the same slice.
    slice_tolerance: Threshold = field(default_factory=lambda: Threshold(value=0.05))

    @property
    def direction(self) -> Metric:
        return METRIC[self.metric]

    @classmethod
    def of(cls, spec: ProjectSpec) -> GatePolicy:
        return cls(
            metric=spec.metric,
            floors=parse_bounds(",".join(spec.floors), METRICS),
            margin=spec.margin,
            slice_tolerance=spec.slice_tolerance,
        )


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
    # False when an earlier gate already refused and this one was not worth running.
    ran: bool = True


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    candidate: Scored | None
    champion: Scored | None
    gates: list[GateResult]

    def gate(self, name: str) -> GateResult | None:
        return next((g for g in self.gates if g.gate == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "candidate": self.candidate.model_dump() if self.candidate else None,
            "champion": self.champion.model_dump() if self.champion else None,
            "gates": [asdict(g) for g in self.gates],
        }


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
        return GateResult(FLOOR, False, f"{best.label}: {'; '.join(broken)}", figures)
    held = ", ".join(str(b) for b in floors) or "no floor set"
    return GateResult(FLOOR, True, f"{best.label} holds {held}", figures)


def at_least(value: float, bound: float) -> bool:
    """`value >= bound`, forgiving the last bits of float error (3.0 - 2.97 < 0.03)."""
    return value >= bound - 1e-9 * max(1.0, abs(bound))


def margin_gate(best: Scored, champion: Scored | None, policy: GatePolicy) -> GateResult:
    metric = policy.direction
    margin_text = policy.margin.text()
    if champion is None:
        return GateResult(MARGIN, True, "first model: no champion to beat", {"margin": margin_text})
    if best.version == champion.version:
        return GateResult(MARGIN, False, f"{best.label} is already the champion", {})
    ours, theirs = best.value(metric.name), champion.value(metric.name)
    gain = metric.improvement(ours, theirs)
    margin = policy.margin.absolute(theirs)
    figures: dict[str, Any] = {
        "metric": metric.name,
        "candidate_value": ours,
        "champion_value": theirs,
        "improvement": round(gain, 6),
        "margin": round(margin, 6),
    }
    relative = f" ({margin_text} of the champion's)" if policy.margin.relative else ""
    versus = (
        f"{best.label} {metric.title} {ours:.4f} vs champion {champion.label} {theirs:.4f} "
        f"({metric.direction}): improvement {gain:+.4f}"
    )
    if best.gain is None:
        passed = at_least(gain, margin)
        sign = ">=" if passed else "<"
        return GateResult(MARGIN, passed, f"{versus} {sign} margin {margin:.4f}{relative}", figures)
    lower, upper = best.gain.lower, best.gain.upper
    figures.update(gain_ci_lower=lower, gain_ci_upper=upper, resamples=best.gain.resamples)
    interval = f"{CONFIDENCE:.0%} CI of the improvement [{lower:+.4f}, {upper:+.4f}]"
    # Noise must not promote: the whole confidence interval has to clear the margin.
    passed = at_least(lower, margin)
    sign = ">=" if passed else "<"
    return GateResult(
        MARGIN,
        passed,
        f"{versus}, {interval}: lower bound {sign} margin {margin:.4f}{relative}",
        figures,
    )


def slice_changes(best: Scored, champion: Scored, metric: Metric) -> list[dict[str, Any]]:
    """Per slice judged for both models: how much the candidate is worse than the champion
    in the metric (positive is worse, negative an improvement), worst first."""
    theirs = {
        (s["column"], s["value"]): s[metric.name]
        for s in champion.slices
        if s.get(metric.name) is not None
    }
    rows = []
    for s in best.slices:
        key = (s["column"], s["value"])
        if s.get(metric.name) is None or key not in theirs:
            continue
        rows.append(
            {
                "slice": f"{key[0]}={key[1]}",
                "rows": s["rows"],
                "candidate": s[metric.name],
                "champion": theirs[key],
                "worsening": round(-metric.improvement(s[metric.name], theirs[key]), 6),
            }
        )
    return sorted(rows, key=lambda r: -r["worsening"])


def _moved(r: dict[str, Any]) -> str:
    how = "worse" if r["worsening"] > 0 else "better" if r["worsening"] < 0 else "unchanged"
    return f"{r['slice']} {r['champion']:.4f} -> {r['candidate']:.4f} ({how})"


def slice_gate(best: Scored, champion: Scored | None, policy: GatePolicy) -> GateResult:
    metric = policy.direction
    if champion is None:
        return GateResult(SLICES, True, "first model: no champion slices to regress from", {})
    compared = slice_changes(best, champion, metric)
    if not compared:
        return GateResult(
            SLICES,
            True,
            "no slice large enough to judge in both models",
            {"tolerance": policy.slice_tolerance.text()},
        )
    worst = compared[0]
    figures = {
        "metric": metric.name,
        "slices_compared": len(compared),
        "worst_slice": worst["slice"],
        "worst_worsening": worst["worsening"],
        "tolerance": policy.slice_tolerance.text(),
    }
    regressed = [
        r
        for r in compared
        if not at_least(policy.slice_tolerance.absolute(r["champion"]), r["worsening"])
    ]
    what = f"{metric.title}, {metric.direction}"
    if regressed:
        named = ", ".join(_moved(r) for r in regressed)
        return GateResult(
            SLICES,
            False,
            f"{best.label} is worse by more than {policy.slice_tolerance.text()} {metric.title} "
            f"on {len(regressed)} slice(s) ({what}): {named}",
            figures,
        )
    return GateResult(
        SLICES,
        True,
        f"{best.label}: no slice of {len(compared)} worse by more than "
        f"{policy.slice_tolerance.text()} ({what}); least favourable {_moved(worst)}",
        figures,
    )


def not_run(gate: str, because: str) -> GateResult:
    return GateResult(gate, False, f"not run: {because}", {}, ran=False)


def decide(
    candidates: list[Scored], champion: Scored | None, policy: GatePolicy
) -> tuple[Scored | None, list[GateResult]]:
    """The best candidate in the primary metric and the evaluation gates judged on it.

    These gates are cheap, so all of them run and record their figures even after one refused;
    the infrastructure gate (a fresh process) is left to the caller, for a candidate all of
    these passed.
    """
    if not candidates:
        return None, [not_run(g, "no candidate to judge") for g in (FLOOR, MARGIN, SLICES)]
    sign = 1.0 if policy.direction.higher_is_better else -1.0
    best = max(candidates, key=lambda c: sign * c.value(policy.metric))
    return best, [
        floor_gate(best, policy.floors),
        margin_gate(best, champion, policy),
        slice_gate(best, champion, policy),
    ]


def verdict(best: Scored | None, champion: Scored | None, results: list[GateResult]) -> Decision:
    """Promote only when every gate ran and passed; the reason is the first refusal, or all."""
    refused = next((r for r in results if not r.passed), None)
    if best is None:
        return Decision(False, "no candidate to judge", None, champion, results)
    if refused is not None:
        return Decision(False, f"{refused.gate} gate: {refused.reason}", best, champion, results)
    reason = "; ".join(f"{r.gate}: {r.reason}" for r in results)
    return Decision(True, reason, best, champion, results)
