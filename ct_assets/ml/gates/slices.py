"""Slices: no slice of the declared columns may be worse than the champion on the same slice
by more than `gates.slice_tolerance`."""

from __future__ import annotations

from typing import Any

from ct_assets.ml.contracts import Scored
from ct_assets.ml.gates import register
from ct_assets.ml.gates.base import Gate, GateResult, GateSettings, at_least
from ct_assets.ml.vocabulary import METRIC, Metric
from ct_assets.project.spec import ProjectSpec

NAME = "slices"


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


def slice_gate(best: Scored, champion: Scored | None, settings: GateSettings) -> GateResult:
    metric = settings.direction
    if champion is None:
        return GateResult(NAME, True, "first model: no champion slices to regress from", {})
    compared = slice_changes(best, champion, metric)
    if not compared:
        return GateResult(
            NAME,
            True,
            "no slice large enough to judge in both models",
            {"tolerance": settings.slice_tolerance.text()},
        )
    worst = compared[0]
    figures = {
        "metric": metric.name,
        "slices_compared": len(compared),
        "worst_slice": worst["slice"],
        "worst_worsening": worst["worsening"],
        "tolerance": settings.slice_tolerance.text(),
    }
    regressed = [
        r
        for r in compared
        if not at_least(settings.slice_tolerance.absolute(r["champion"]), r["worsening"])
    ]
    what = f"{metric.title}, {metric.direction}"
    if regressed:
        named = ", ".join(_moved(r) for r in regressed)
        return GateResult(
            NAME,
            False,
            f"{best.label} is worse by more than {settings.slice_tolerance.text()} {metric.title} "
            f"on {len(regressed)} slice(s) ({what}): {named}",
            figures,
        )
    return GateResult(
        NAME,
        True,
        f"{best.label}: no slice of {len(compared)} worse by more than "
        f"{settings.slice_tolerance.text()} ({what}); least favourable {_moved(worst)}",
        figures,
    )


class Slices(Gate):
    name = NAME
    rank = 30

    def describe(self, spec: ProjectSpec) -> str:
        metric = METRIC[spec.metric]
        return (
            f"No slice of {', '.join(spec.slice_columns) or 'none'} (>= "
            f"{spec.gates.slices.min_rows} holdout rows) is worse than the champion on the same "
            f"slice by more than {spec.slice_tolerance.text()} {metric.title} "
            f"({metric.direction})."
        )

    def judge(self, best: Scored, champion: Scored | None, settings: GateSettings) -> GateResult:
        return slice_gate(best, champion, settings)


register(Slices())
