"""The promotion decision: from an evaluation and the registry's state to promote-or-keep.

Pure: the two things that need the outside world (a fresh serving process for the
infrastructure gate, and the champion alias as it is now) come in as functions, so the whole
decision, guards included, is tested without Dagster or MLflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ct_assets.ml import gates
from ct_assets.ml.contracts import Evaluation
from ct_assets.ml.gates import (
    INFRASTRUCTURE,
    Decision,
    GateResult,
    GateSettings,
    decide,
    not_run,
    verdict,
)
from ct_assets.ml.infra import InfraResult


@dataclass(frozen=True)
class RegistryState:
    """What the decision must know beyond the evaluation."""

    partition: str
    # The champion alias when the decision starts.
    champion: str | None
    # Partitions after this one that already have a decision.
    newer_decisions: tuple[str, ...] = ()
    # Versions an earlier decision for this partition promoted (the history's records).
    promoted_before: tuple[str, ...] = ()


def judged(evaluation: Evaluation, settings: GateSettings) -> Decision:
    """The evaluation gates on the best candidate; the champion judged against, if any."""
    best, results = decide(evaluation.candidates, evaluation.champion, settings)
    incomparable = evaluation.champion_incomparable
    if incomparable is not None:
        # New feature definitions: nothing to compare with, so the gates that do not compare
        # with the champion (the floor) alone decide.
        alone = ", ".join(g.name for g in gates.gates() if g.on_evaluation and not g.compares)
        note = f"{incomparable.reason}; judged on the {alone} alone"
        results = [
            r if not gates.get(r.gate).compares else replace(r, reason=f"{note}: {r.reason}")
            for r in results
        ]
    return verdict(best, evaluation.champion, results)


def guard(evaluation: Evaluation, state: RegistryState) -> str | None:
    """Why a decision that passes its gates must still not move the alias, if it must not."""
    best = evaluation.best().version if evaluation.candidates else None
    evaluated = evaluation.evaluated_champion
    if state.champion != evaluated:
        # Another promotion landed after our evaluation: our comparison is stale.
        return f"champion moved from v{evaluated} to v{state.champion} during evaluation"
    if state.newer_decisions:
        # Late data re-opened an old day: its model saw an older window than the decision
        # already taken for a newer day, so it is recorded but never served.
        return (
            f"{state.partition} is older than the decision already taken for "
            f"{state.newer_decisions[-1]}: a retrain on late data is recorded, not promoted"
        )
    if best in state.promoted_before:
        # The same candidate again (the registry hands back a version for the same training):
        # its promotion for this partition was decided once, and the champion moved on since.
        return (
            f"v{best} was already promoted for {state.partition}: a decision moves the alias once"
        )
    return None


def serving_from_evaluation(evaluation: Evaluation, version: str) -> InfraResult | None:
    """The evaluation's own fresh-process figures, when they are for this version."""
    probed = evaluation.serving
    if probed is None or probed.version != version:
        return None
    return InfraResult(probed.passed, probed.reason, probed.figures)


def decide_promotion(
    evaluation: Evaluation,
    state: RegistryState,
    settings: GateSettings,
    serve: Callable[[str], InfraResult],
    champion_now: Callable[[], str | None],
) -> Decision:
    """Promote the best candidate only when every gate passes and nothing moved meanwhile.

    The infrastructure gate (`serve`: load a version in a fresh process) is the last and most
    expensive gate, run only for a candidate every other gate passed and no guard holds back.
    """
    first = judged(evaluation, settings)
    held = guard(evaluation, state)
    if first.promote and first.candidate is not None and held is None:
        version = first.candidate.version
        checked = serving_from_evaluation(evaluation, version) or serve(version)
        figures = {k: v for k, v in checked.figures.items() if k != "error"}
        infra = GateResult(INFRASTRUCTURE, checked.passed, checked.reason, figures)
    else:
        infra = not_run(
            INFRASTRUCTURE, held if first.promote and held else "an evaluation gate refused"
        )
    decision = verdict(first.candidate, first.champion, [*first.gates, infra])
    if held is None and decision.promote:
        now = champion_now()
        if now != state.champion:
            # Decisions are serialised by their pool; a rollback by hand is not in it.
            held = (
                f"champion moved from v{state.champion} to v{now} during infrastructure validation"
            )
    if held is not None and first.promote:
        decision = replace(decision, promote=False, reason=held)
    return decision


def promotions_for(history: Sequence[Mapping[str, Any]], partition: str) -> list[Mapping[str, Any]]:
    """The recorded moves that promoted a candidate of `partition`, oldest first."""
    return [e for e in history if e.get("partition") == partition and e.get("kind") == "promote"]


def standing_promotion(
    history: Sequence[Mapping[str, Any]], partition: str, version: str, champion: str | None
) -> Mapping[str, Any] | None:
    """The recorded move that promoted `version` for `partition` and still stands (the
    champion is `version`): a retried or repeated decision on that candidate reports it and
    moves nothing again. A move superseded since is left to the guard (`promoted_before`)."""
    found = [e for e in promotions_for(history, partition) if e["to"] == version]
    return found[-1] if found and champion == version else None


def gate_record(gates: Sequence[GateResult]) -> dict[str, dict[str, Any]]:
    """The gates as the history records them with a promotion: enough to report it again."""
    return {g.gate: {"passed": g.passed, "reason": g.reason, **g.figures} for g in gates}


def recorded_decision(evaluation: Evaluation, record: Mapping[str, Any]) -> Decision:
    """The decision a history record holds, as it was taken (not judged again: the champion
    it was judged against has moved since, by this very decision)."""
    candidate = next(c for c in evaluation.candidates if c.version == record["to"])
    gates = [
        GateResult(
            gate,
            bool(figures.get("passed")),
            str(figures.get("reason", "")),
            {k: v for k, v in figures.items() if k not in ("passed", "reason")},
        )
        for gate, figures in (record.get("gates") or {}).items()
    ]
    reason = f"already decided at {record['at']}: {record['reason']}"
    return Decision(True, reason, candidate, evaluation.champion, gates)
