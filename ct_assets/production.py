"""Stage 7, production: the promotion decision; the `champion` alias is the serving pointer."""

from dataclasses import replace
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.gates import (
    FLOOR,
    GATES,
    INFRASTRUCTURE,
    MARGIN,
    SLICES,
    Decision,
    GateResult,
    Scored,
    decide,
    not_run,
    verdict,
)
from ct_assets.ml.infra_validation import (
    SERVING_SAMPLE_ROWS,
    InfraResult,
    validate_serving,
)
from ct_assets.ml.windows import HOLDOUT, SPLIT
from ct_assets.partitions import partitioned_check
from ct_assets.settings import PipelineSettings
from resources.mlflow_registry import MlflowRegistry
from sensors.automation import after_upstream

PRODUCTION_MODEL = "production_model"
PROMOTION_GATE = "promotion_gate"
PROMOTION_POOL = "promotion"
# One asset check per gate, beside the overall verdict.
GATE_CHECKS = {gate: f"{gate}_gate" for gate in GATES}


def gate_descriptions(settings: PipelineSettings) -> dict[str, str]:
    policy, infra = settings.gates, settings.infra
    return {
        FLOOR: "The best candidate's holdout metrics hold every floor: "
        + (", ".join(str(b) for b in policy.floors) or "none set"),
        MARGIN: "The lower bound of the 95% paired-bootstrap interval of the ROC AUC gain over "
        f"the champion, on the same holdout, is >= {policy.margin}.",
        SLICES: f"No slice of {', '.join(settings.slice_columns) or 'none'} (>= "
        f"{settings.slice_min_rows} holdout rows) loses more than {policy.slice_tolerance} ROC "
        "AUC against the champion on the same slice.",
        INFRASTRUCTURE: "The registered model loads in a fresh process through mlflow.pyfunc and "
        f"predicts one row within {infra.latency_ms_p95} ms (p95), at most {infra.size_mb} MB.",
    }


def judged(evaluations: dict[str, Any], settings: PipelineSettings) -> Decision:
    """The evaluation gates on the best candidate; the champion judged against, if any."""
    candidates = [Scored.from_record(c) for c in evaluations["candidates"]]
    champion = Scored.from_record(evaluations["champion"]) if evaluations["champion"] else None
    best, results = decide(candidates, champion, settings.gates)
    incomparable = evaluations.get("champion_incomparable")
    if incomparable:
        # New feature definitions: nothing to compare with, so the floor alone decides.
        note = f"{incomparable['reason']}; judged on the floor alone"
        results = [
            r if r.gate == FLOOR else replace(r, reason=f"{note}: {r.reason}") for r in results
        ]
    return verdict(best, champion, results)


def guard(evaluated: str | None, before: str | None, newer: list[str], key: str) -> str | None:
    """Why a decision that passes its gates must still not move the alias, if it must not."""
    if before != evaluated:
        # Another promotion landed after our evaluation: our comparison is stale.
        return f"champion moved from v{evaluated} to v{before} during evaluation"
    if newer:
        # Late data re-opened an old day: its model saw an older window than the decision
        # already taken for a newer day, so it is recorded but never served.
        return (
            f"{key} is older than the decision already taken for {newer[-1]}: a retrain on late "
            "data is recorded, not promoted"
        )
    return None


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


def build_production(
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    described = gate_descriptions(settings)

    @dg.asset(
        name=PRODUCTION_MODEL,
        partitions_def=partitions,
        group_name="production",
        code_version="3",
        kinds={"mlflow"},
        io_manager_key="json_io_manager",
        automation_condition=after_upstream(),
        pool=PROMOTION_POOL,
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=settings.model_freshness_fail, warn_window=settings.model_freshness_warn
        ),
        check_specs=[
            partitioned_check(
                PROMOTION_GATE,
                PRODUCTION_MODEL,
                partitions,
                description="Every gate passed and the champion moved to the best candidate: "
                + " ".join(described.values()),
            ),
            *(
                partitioned_check(GATE_CHECKS[g], PRODUCTION_MODEL, partitions, description=d)
                for g, d in described.items()
            ),
        ],
    )
    def production_model(
        context: dg.AssetExecutionContext,
        model_evaluations: dict[str, Any],
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
    ):
        """Which model version serves after this partition: promoted candidate or kept champion."""
        judged_now = judged(model_evaluations, settings)
        incomparable = model_evaluations.get("champion_incomparable")
        evaluated = incomparable["version"] if incomparable else None
        if judged_now.champion:
            evaluated = judged_now.champion.version
        before = mlflow.champion_version()
        newer = sorted(
            k
            for k in context.instance.get_materialized_partitions(dg.AssetKey(PRODUCTION_MODEL))
            if k > context.partition_key
        )
        held = guard(evaluated, before, newer, context.partition_key)
        if judged_now.promote and judged_now.candidate is not None and held is None:
            # Last gate before the alias moves: can serving load and run this model at all?
            version = judged_now.candidate.version
            probed = model_evaluations.get("serving") or {}
            if probed.get("version") == version:
                checked = InfraResult(probed["passed"], probed["reason"], probed["figures"])
            else:  # an evaluation recorded before the probe moved there
                from ct_assets.ml.training import inputs  # LightGBM and sklearn: not at load

                holdout = training_window[training_window[SPLIT] == HOLDOUT]
                checked = validate_serving(
                    mlflow.tracking_uri,
                    mlflow.model_uri(version),
                    inputs(holdout.head(SERVING_SAMPLE_ROWS)),
                    settings.infra,
                )
            context.log.info(f"infrastructure gate: {checked.reason}")
            figures = {k: v for k, v in checked.figures.items() if k != "error"}
            infra = GateResult(INFRASTRUCTURE, checked.passed, checked.reason, figures)
        else:
            refused = held if judged_now.promote and held else "an evaluation gate refused"
            infra = not_run(INFRASTRUCTURE, refused)
        decision = verdict(judged_now.candidate, judged_now.champion, [*judged_now.gates, infra])
        now_serving = mlflow.champion_version()
        if held is None and decision.promote and now_serving != before:
            # The pool serialises decisions; a rollback by hand is not in it.
            held = (
                f"champion moved from v{before} to v{now_serving} during infrastructure validation"
            )
        if held is not None and judged_now.promote:
            decision = replace(decision, promote=False, reason=held)
        if decision.promote and decision.candidate is not None:
            mlflow.promote(
                decision.candidate.version,
                before,
                decision.reason,
                gates={g.gate: {"passed": g.passed, **g.figures} for g in decision.gates},
            )
        after = mlflow.champion_version()
        context.log.info(f"{'PROMOTE' if decision.promote else 'KEEP'}: {decision.reason}")
        candidate = decision.candidate
        return dg.MaterializeResult(
            value={**decision.as_dict(), "champion_before": before, "champion_after": after},
            metadata={
                "decision": "promote" if decision.promote else "keep champion",
                "reason": decision.reason,
                "champion_before": before or "none",
                "champion_after": after or "none",
                "model_uri": mlflow.model_uri(after) if after else "none",
                "candidate_version": candidate.version if candidate else "none",
                "candidate_family": candidate.family if candidate else "none",
                "candidate_roc_auc": candidate.roc_auc if candidate else float("nan"),
                "champion_roc_auc": (
                    decision.champion.roc_auc if decision.champion else float("nan")
                ),
                "gates": dg.MetadataValue.md(
                    pd.DataFrame(
                        [
                            {"gate": g.gate, "passed": g.passed, "reason": g.reason}
                            for g in decision.gates
                        ]
                    ).to_markdown(index=False)
                ),
                **{
                    f"{g.gate}_{k}": v
                    for g in decision.gates
                    for k, v in g.figures.items()
                    if isinstance(v, int | float | str)
                },
            },
            check_results=check_results(decision),
        )

    return [production_model]
