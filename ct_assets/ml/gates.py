"""Promotion gates: each judges the best candidate on one question and records its figures.

The floor (absolute bounds on holdout metrics), the margin over the champion (the lower bound of
a paired-bootstrap interval must clear it, so noise does not promote), and slices (no slice may
regress by more than a tolerance) are decided here on evaluation figures. The infrastructure gate
needs a fresh process and is judged from its probe's figures (`infra_validation`).
"""

from __future__ import annotations

import operator
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ct_assets.ml.vocabulary import CONFIDENCE, METRICS

FLOOR, MARGIN, SLICES, INFRASTRUCTURE = "floor", "margin", "slices", "infrastructure"
GATES = (FLOOR, MARGIN, SLICES, INFRASTRUCTURE)
_OPS = {">=": operator.ge, "<=": operator.le}
_BOUND = re.compile(r"^\s*([a-z_]+)\s*(>=|<=)\s*(-?[0-9.eE+-]+)\s*$")


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
            raise ValueError(f"{part.strip()!r} is not a bound such as roc_auc>=0.6 or brier<=0.2")
        metric, op, value = found.groups()
        if known is not None and metric not in known:
            raise ValueError(f"{part.strip()!r}: unknown metric {metric!r}; known: {sorted(known)}")
        bounds.append(Bound(metric, op, float(value)))
    return tuple(bounds)


@dataclass(frozen=True)
class GatePolicy:
    floors: tuple[Bound, ...] = (Bound("roc_auc", ">=", 0.6),)
    margin: float = 0.01
    # Largest ROC AUC drop of any judged slice against the champion on the same slice.
    slice_tolerance: float = 0.05


@dataclass(frozen=True)
class Scored:
    """A model as evaluated on the holdout: its metrics, its slices, and for a candidate the
    bootstrap interval of its ROC AUC gain over the champion."""

    version: str
    family: str
    metrics: dict[str, float]
    slices: list[dict[str, Any]] = field(default_factory=list)
    gain: dict[str, float] | None = None
    mode: str = "full"

    @property
    def roc_auc(self) -> float:
        return self.metrics["roc_auc"]

    @property
    def label(self) -> str:
        return f"v{self.version} ({self.family})"

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Scored:
        return cls(
            version=record["version"],
            family=record["family"],
            metrics={k: v for k, v in record.items() if k in METRICS},
            slices=record.get("slices", []),
            gain=record.get("gain_vs_champion"),
            mode=record.get("mode", "full"),
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
        return asdict(self)


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


def margin_gate(best: Scored, champion: Scored | None, margin: float) -> GateResult:
    if champion is None:
        return GateResult(MARGIN, True, "first model: no champion to beat", {"margin": margin})
    if best.version == champion.version:
        return GateResult(MARGIN, False, f"{best.label} is already the champion", {})
    gain = best.roc_auc - champion.roc_auc
    figures: dict[str, Any] = {
        "candidate_roc_auc": best.roc_auc,
        "champion_roc_auc": champion.roc_auc,
        "gain": round(gain, 5),
        "margin": margin,
    }
    versus = (
        f"{best.label} ROC AUC {best.roc_auc:.4f} vs champion {champion.label} "
        f"{champion.roc_auc:.4f}: gain {gain:+.4f}"
    )
    if best.gain is None:
        passed = gain >= margin
        return GateResult(
            MARGIN, passed, f"{versus} {'>=' if passed else '<'} margin {margin:.4f}", figures
        )
    lower, upper = best.gain["lower"], best.gain["upper"]
    figures.update(gain_ci_lower=lower, gain_ci_upper=upper, resamples=best.gain["resamples"])
    interval = f"{CONFIDENCE:.0%} CI [{lower:+.4f}, {upper:+.4f}]"
    # Noise must not promote: the whole confidence interval has to clear the margin.
    if lower < margin:
        return GateResult(
            MARGIN, False, f"{versus}, {interval}: lower bound < margin {margin:.4f}", figures
        )
    return GateResult(
        MARGIN, True, f"{versus}, {interval}: lower bound >= margin {margin:.4f}", figures
    )


def slice_regressions(best: Scored, champion: Scored) -> list[dict[str, Any]]:
    """Per slice judged for both models: champion AUC minus candidate AUC (positive is worse)."""
    theirs = {
        (s["column"], s["value"]): s["roc_auc"] for s in champion.slices if s["roc_auc"] is not None
    }
    rows = []
    for s in best.slices:
        key = (s["column"], s["value"])
        if s["roc_auc"] is None or key not in theirs:
            continue
        rows.append(
            {
                "slice": f"{key[0]}={key[1]}",
                "rows": s["rows"],
                "candidate_roc_auc": s["roc_auc"],
                "champion_roc_auc": theirs[key],
                "regression": round(theirs[key] - s["roc_auc"], 5),
            }
        )
    return sorted(rows, key=lambda r: -r["regression"])


def slice_gate(best: Scored, champion: Scored | None, tolerance: float) -> GateResult:
    if champion is None:
        return GateResult(SLICES, True, "first model: no champion slices to regress from", {})
    compared = slice_regressions(best, champion)
    if not compared:
        return GateResult(
            SLICES, True, "no slice large enough to judge in both models", {"tolerance": tolerance}
        )
    worst = compared[0]
    figures = {
        "slices_compared": len(compared),
        "worst_slice": worst["slice"],
        "worst_regression": worst["regression"],
        "tolerance": tolerance,
    }
    regressed = [r for r in compared if r["regression"] > tolerance]
    if regressed:
        named = ", ".join(
            f"{r['slice']} {r['champion_roc_auc']:.4f} -> {r['candidate_roc_auc']:.4f}"
            for r in regressed
        )
        return GateResult(
            SLICES,
            False,
            f"{best.label} regresses {len(regressed)} slice(s) by more than {tolerance:.4f}: "
            f"{named}",
            figures,
        )
    return GateResult(
        SLICES,
        True,
        f"{best.label}: no slice of {len(compared)} regresses by more than {tolerance:.4f} "
        f"(worst {worst['slice']} {worst['regression']:+.4f})",
        figures,
    )


def not_run(gate: str, because: str) -> GateResult:
    return GateResult(gate, False, f"not run: {because}", {}, ran=False)


def decide(
    candidates: list[Scored], champion: Scored | None, policy: GatePolicy
) -> tuple[Scored | None, list[GateResult]]:
    """The best candidate by holdout ROC AUC and the evaluation gates judged on it.

    These gates are cheap, so all of them run and record their figures even after one refused;
    the infrastructure gate (a fresh process) is left to the caller, for a candidate all of
    these passed.
    """
    if not candidates:
        return None, [not_run(g, "no candidate to judge") for g in (FLOOR, MARGIN, SLICES)]
    best = max(candidates, key=lambda c: c.roc_auc)
    return best, [
        floor_gate(best, policy.floors),
        margin_gate(best, champion, policy.margin),
        slice_gate(best, champion, policy.slice_tolerance),
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
