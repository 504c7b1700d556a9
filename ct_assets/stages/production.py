"""Stage 7, production: the promotion decision; the `champion` alias is the serving pointer.

The decision itself is pure (`ml.promotion.decide_promotion`); this stage reads what it needs
(the evaluation, the alias, newer decisions), runs a fresh serving process when asked, moves
the alias, and records every gate as an asset check.

A decision is taken once: the registry's history records each promotion with its partition
before the alias moves, so a retried run finds its own earlier move and reports it instead of
judging (and moving) again.
"""

import math
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.io.serving_probe import validate_serving
from ct_assets.ml import gates
from ct_assets.ml.contracts import Evaluation
from ct_assets.ml.frames import HOLDOUT, SPLIT
from ct_assets.ml.gates import Decision, GateSettings
from ct_assets.ml.infra import SERVING_SAMPLE_ROWS, InfraBudget, InfraResult
from ct_assets.ml.promotion import (
    RegistryState,
    decide_promotion,
    gate_record,
    promotions_for,
    recorded_decision,
    standing_promotion,
)
from ct_assets.ml.records import KEEP, PROMOTE, Decided
from ct_assets.names import PRODUCTION_MODEL, PROMOTION_GATE, PROMOTION_POOL, gate_check_name
from ct_assets.partitions import partitioned_check
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.stages.common import after_upstream, freshness, stage_asset
from resources.mlflow_registry import CHALLENGER, MlflowRegistry

# One asset check per gate, beside the overall verdict.
GATE_CHECKS = {gate: gate_check_name(gate) for gate in gates.names()}


def gate_descriptions(spec: ProjectSpec) -> dict[str, str]:
    return {gate.name: gate.describe(spec) for gate in gates.gates()}


def check_results(decision: Decision) -> list[dg.AssetCheckResult]:
    # A refused challenger is an expected outcome: shown (WARN), never a run failure.
    results = [
        dg.AssetCheckResult(
            check_name=PROMOTION_GATE,
            passed=decision.promote,
            severity=dg.AssetCheckSeverity.WARN,
            description=decision.reason,
            metadata={
                "candidate_version": decision.candidate.version if decision.candidate else "none",
                "gates_passed": ", ".join(g.gate for g in decision.gates if g.passed) or "none",
            },
        )
    ]
    for gate in decision.gates:
        results.append(
            dg.AssetCheckResult(
                check_name=GATE_CHECKS[gate.gate],
                passed=gate.passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=gate.reason,
                metadata={"ran": gate.ran, **gate.figures},
            )
        )
    return results


def decision_metadata(
    decision: Decision, metric: str, before: str | None, after: str | None, uri: str
) -> dict[str, Any]:
    candidate, champion = decision.candidate, decision.champion
    record = Decided(
        decision=PROMOTE if decision.promote else KEEP,
        reason=decision.reason,
        champion_before=before,
        champion_after=after,
        metric=metric,
        candidate_version=candidate.version if candidate else None,
        candidate_family=candidate.family if candidate else None,
        candidate=candidate.value(metric) if candidate else math.nan,
        champion=champion.value(metric) if champion else math.nan,
    )
    return {
        **record.entry(),
        "decision": record.decision,
        "reason": decision.reason,
        "champion_before": before or "none",
        "champion_after": after or "none",
        "model_uri": uri,
        "metric": metric,
        "candidate_version": candidate.version if candidate else "none",
        "candidate_family": candidate.family if candidate else "none",
        f"candidate_{metric}": candidate.value(metric) if candidate else float("nan"),
        f"champion_{metric}": champion.value(metric) if champion else float("nan"),
        "gates": dg.MetadataValue.md(
            pd.DataFrame(
                [{"gate": g.gate, "passed": g.passed, "reason": g.reason} for g in decision.gates]
            ).to_markdown(index=False)
        ),
        **{
            f"{g.gate}_{k}": v
            for g in decision.gates
            for k, v in g.figures.items()
            if isinstance(v, int | float | str)
        },
    }


def take_decision(
    mlflow: MlflowRegistry,
    key: str,
    evaluation: Evaluation,
    decided: set[str],
    settings: GateSettings,
    serve: Callable[[str], InfraResult],
) -> tuple[Decision, str | None, str | None]:
    """Decide partition `key` and move the alias if the decision says so, under the alias
    lock; the decision, and the champion before and after it.

    Taken once: a promotion of this candidate for this partition that the history already
    records (and the alias still shows) is reported, not judged and moved again.
    """
    history = mlflow.history()
    before = mlflow.champion_version()
    best = evaluation.best().version if evaluation.candidates else None
    earlier = standing_promotion(history, key, best, before) if best else None
    if earlier is not None:
        return recorded_decision(evaluation, earlier), earlier["from"], earlier["to"]
    # Decided partitions: as Dagster saw them, and as the history records them (a decision
    # that died after its record never reached Dagster).
    decided = decided | {str(e["partition"]) for e in history if e.get("partition")}
    state = RegistryState(
        key,
        before,
        tuple(sorted(k for k in decided if k > key)),
        tuple(str(e["to"]) for e in promotions_for(history, key)),
    )
    decision = decide_promotion(evaluation, state, settings, serve, mlflow.champion_version)
    if decision.promote and decision.candidate is not None:
        mlflow.promote(
            decision.candidate.version,
            before,
            decision.reason,
            gates=gate_record(decision.gates),
            partition=key,
        )
    return decision, before, mlflow.champion_version()


def build_production(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    described = gate_descriptions(spec)
    settings = GateSettings.of(spec)
    budget = InfraBudget.of(spec.gates.serving)

    @stage_asset(
        PRODUCTION_MODEL,
        group="production",
        partitions=partitions,
        project=project,
        code_version="4",
        kinds={"mlflow"},
        automation=after_upstream(),
        io_manager_key="json_io_manager",
        pool=PROMOTION_POOL,
        freshness_policy=freshness(spec.freshness.model),
        check_specs=[
            partitioned_check(
                PROMOTION_GATE,
                project.namespace.key(PRODUCTION_MODEL),
                partitions,
                description="Every gate passed and the champion moved to the best candidate: "
                + " ".join(described.values()),
            ),
            *(
                partitioned_check(
                    GATE_CHECKS[g],
                    project.namespace.key(PRODUCTION_MODEL),
                    partitions,
                    description=d,
                )
                for g, d in described.items()
            ),
        ],
    )
    def production_model(
        context: dg.AssetExecutionContext,
        model_evaluations: Evaluation,
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
    ):
        """Which model version serves after this partition: promoted candidate or kept champion."""
        key = context.partition_key

        def serve(version: str) -> InfraResult:
            # An evaluation recorded before the probe moved there: probe now.
            holdout = training_window[training_window[SPLIT] == HOLDOUT]
            sample = holdout[list(spec.feature_names)].head(SERVING_SAMPLE_ROWS)
            return validate_serving(mlflow.tracking_uri, mlflow.model_uri(version), sample, budget)

        # From reading the alias to moving it, no other decision or rollback interleaves; a
        # move recorded by a decision that died before applying it is applied first.
        with mlflow.alias_lock():
            decided = context.instance.get_materialized_partitions(
                project.namespace.key(PRODUCTION_MODEL)
            )
            decision, before, after = take_decision(
                mlflow, key, model_evaluations, set(decided), settings, serve
            )
            # Serving scores the refused candidate in shadow: live evidence for the next time.
            refused = None if decision.promote else decision.candidate
            mlflow.set_alias(CHALLENGER, refused.version if refused else None)
        context.log.info(f"{'PROMOTE' if decision.promote else 'KEEP'}: {decision.reason}")
        uri = mlflow.model_uri(after) if after else "none"
        return dg.MaterializeResult(
            value={**decision.as_dict(), "champion_before": before, "champion_after": after},
            metadata=decision_metadata(decision, spec.metric, before, after, uri),
            check_results=check_results(decision),
        )

    return [production_model]
