"""Stage 7, production: the promotion decision; the `champion` alias is the serving pointer."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.evaluation import GateDecision, ScoredModel, decide_promotion
from ct_assets.ml.infra_validation import validate_serving
from ct_assets.ml.training import inputs
from ct_assets.ml.windows import HOLDOUT, SPLIT
from ct_assets.partitions import partitioned_check
from ct_assets.settings import PipelineSettings
from resources.mlflow_registry import MlflowRegistry
from sensors.automation import after_upstream

PRODUCTION_MODEL = "production_model"
PROMOTION_GATE = "promotion_gate"
PROMOTION_POOL = "promotion"


def _scored(record: dict[str, Any] | None) -> ScoredModel | None:
    if record is None:
        return None
    gain = record.get("gain_vs_champion") or {}
    return ScoredModel(
        record["version"],
        record["family"],
        record["roc_auc"],
        record["log_loss"],
        gain_lower=gain.get("lower"),
        gain_upper=gain.get("upper"),
    )


def gate_decision(evaluations: dict[str, Any], floor: float, margin: float) -> GateDecision:
    candidates = [s for s in map(_scored, evaluations["candidates"]) if s is not None]
    return decide_promotion(candidates, _scored(evaluations["champion"]), floor, margin)


def build_production(
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=PRODUCTION_MODEL,
        partitions_def=partitions,
        group_name="production",
        code_version="2",
        kinds={"mlflow"},
        io_manager_key="json_io_manager",
        automation_condition=after_upstream(),
        pool=PROMOTION_POOL,
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=2)),
        check_specs=[
            partitioned_check(
                PROMOTION_GATE,
                PRODUCTION_MODEL,
                partitions,
                description=(
                    f"Best candidate has ROC AUC >= {settings.auc_floor}, and the lower bound of "
                    "the 95% paired-bootstrap interval of its gain over the champion on the same "
                    f"holdout is >= {settings.promotion_margin}; and it loads in a fresh process "
                    f"through mlflow.pyfunc within {settings.infra.latency_ms_p95} ms per row "
                    f"(p95) and {settings.infra.size_mb} MB."
                ),
            )
        ],
    )
    def production_model(
        context: dg.AssetExecutionContext,
        model_evaluations: dict[str, Any],
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
    ):
        """Which model version serves after this partition: promoted candidate or kept champion."""
        decision = gate_decision(model_evaluations, settings.auc_floor, settings.promotion_margin)
        incomparable = model_evaluations.get("champion_incomparable")
        evaluated = decision.champion.version if decision.champion else None
        if incomparable:
            evaluated = incomparable["version"]
            decision = replace(
                decision,
                reason=f"{incomparable['reason']}; judged on the floor alone: {decision.reason}",
            )
        before = mlflow.champion_version()
        newer = sorted(
            k
            for k in context.instance.get_materialized_partitions(dg.AssetKey(PRODUCTION_MODEL))
            if k > context.partition_key
        )
        if decision.promote and before != evaluated:
            # Another promotion landed after our evaluation: our comparison is stale.
            decision = replace(
                decision,
                promote=False,
                reason=f"champion moved from v{evaluated} to v{before} during evaluation",
            )
        elif decision.promote and newer:
            # Late data re-opened an old day: its model saw an older window than the decision
            # already taken for a newer day, so it is recorded but never served.
            decision = replace(
                decision,
                promote=False,
                reason=(
                    f"{context.partition_key} is older than the decision already taken for "
                    f"{newer[-1]}: a retrain on late data is recorded, not promoted"
                ),
            )
        infra: dict[str, Any] = {}
        if decision.promote and decision.candidate is not None:
            # Last gate before the alias moves: can serving load and run this model at all?
            holdout = training_window[training_window[SPLIT] == HOLDOUT]
            checked = validate_serving(
                mlflow.tracking_uri,
                mlflow.model_uri(decision.candidate.version),
                inputs(holdout.head(200)),
                settings.infra,
            )
            infra = {f"infra_{k}": v for k, v in checked.figures.items() if k != "error"}
            context.log.info(f"infrastructure gate: {checked.reason}")
            if not checked.passed:
                decision = replace(decision, promote=False, reason=checked.reason)
            else:
                decision = replace(decision, reason=f"{decision.reason}; {checked.reason}")
        if decision.promote and decision.candidate is not None:
            mlflow.promote(decision.candidate.version, before, decision.reason)
        after = mlflow.champion_version()
        context.log.info(f"{'PROMOTE' if decision.promote else 'KEEP'}: {decision.reason}")
        figures: dict[str, str | float] = {
            "candidate_version": decision.candidate.version if decision.candidate else "none",
            "candidate_roc_auc": decision.candidate.roc_auc if decision.candidate else 0.0,
            "champion_roc_auc": decision.champion.roc_auc if decision.champion else 0.0,
            "gain_ci_lower": (
                decision.candidate.gain_lower
                if decision.candidate and decision.candidate.gain_lower is not None
                else float("nan")
            ),
            "gain_ci_upper": (
                decision.candidate.gain_upper
                if decision.candidate and decision.candidate.gain_upper is not None
                else float("nan")
            ),
            "floor": decision.floor,
            "margin": decision.margin,
            **infra,
        }
        return dg.MaterializeResult(
            value={**decision.as_dict(), "champion_before": before, "champion_after": after},
            metadata={
                "decision": "promote" if decision.promote else "keep champion",
                "reason": decision.reason,
                "champion_before": before or "none",
                "champion_after": after or "none",
                "model_uri": mlflow.model_uri(after) if after else "none",
                **figures,
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=PROMOTION_GATE,
                    passed=decision.promote,
                    # A refused challenger is an expected outcome, shown but not a run failure.
                    severity=dg.AssetCheckSeverity.WARN,
                    description=decision.reason,
                    metadata=figures,
                )
            ],
        )

    return [production_model]
