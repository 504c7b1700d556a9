"""The margin: the lower bound of a paired-bootstrap interval of the candidate's improvement
over the champion must clear `gates.margin`, so noise does not promote."""

from __future__ import annotations

from typing import Any

from ct_assets.ml.contracts import Scored
from ct_assets.ml.gates import register
from ct_assets.ml.gates.base import Gate, GateResult, GateSettings, at_least
from ct_assets.ml.vocabulary import CONFIDENCE, METRIC
from ct_assets.project.spec import ProjectSpec

NAME = "margin"


def margin_gate(best: Scored, champion: Scored | None, settings: GateSettings) -> GateResult:
    metric = settings.direction
    margin_text = settings.margin.text()
    if champion is None:
        return GateResult(NAME, True, "first model: no champion to beat", {"margin": margin_text})
    if best.version == champion.version:
        return GateResult(NAME, False, f"{best.label} is already the champion", {})
    ours, theirs = best.value(metric.name), champion.value(metric.name)
    gain = metric.improvement(ours, theirs)
    margin = settings.margin.absolute(theirs)
    figures: dict[str, Any] = {
        "metric": metric.name,
        "candidate_value": ours,
        "champion_value": theirs,
        "improvement": round(gain, 6),
        "margin": round(margin, 6),
    }
    relative = f" ({margin_text} of the champion's)" if settings.margin.relative else ""
    versus = (
        f"{best.label} {metric.title} {ours:.4f} vs champion {champion.label} {theirs:.4f} "
        f"({metric.direction}): improvement {gain:+.4f}"
    )
    if best.gain is None:
        passed = at_least(gain, margin)
        sign = ">=" if passed else "<"
        return GateResult(NAME, passed, f"{versus} {sign} margin {margin:.4f}{relative}", figures)
    lower, upper = best.gain.lower, best.gain.upper
    figures.update(gain_ci_lower=lower, gain_ci_upper=upper, resamples=best.gain.resamples)
    interval = f"{CONFIDENCE:.0%} CI of the improvement [{lower:+.4f}, {upper:+.4f}]"
    # Noise must not promote: the whole confidence interval has to clear the margin.
    passed = at_least(lower, margin)
    sign = ">=" if passed else "<"
    return GateResult(
        NAME,
        passed,
        f"{versus}, {interval}: lower bound {sign} margin {margin:.4f}{relative}",
        figures,
    )


class Margin(Gate):
    name = NAME
    rank = 20

    def describe(self, spec: ProjectSpec) -> str:
        metric = METRIC[spec.metric]
        return (
            f"The lower bound of the 95% paired-bootstrap interval of the {metric.title} "
            f"improvement over the champion ({metric.direction}), on the same holdout, is >= "
            f"{spec.margin.text()}."
        )

    def judge(self, best: Scored, champion: Scored | None, settings: GateSettings) -> GateResult:
        return margin_gate(best, champion, settings)


register(Margin())
