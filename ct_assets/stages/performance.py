"""Monitoring: how the serving models do on labels they never saw, per partition and overall.

`champion_performance` is prequential ("test then train"): each new labeled partition is scored
by the champion as it stands before that partition's own retrain (training_window depends on
it, so in one run it always goes first). `served_performance` joins the predictions serving
logged to the delayed labels that came back. `live_performance` puts both side by side per
model version, beside each version's holdout baseline.
"""

import math
from datetime import datetime
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml.frames import LABEL
from ct_assets.ml.live_score import (
    GAP_EXCEEDED,
    NAN,
    NONE,
    ChampionScore,
    is_baking,
    measured,
    scored_since,
    unscored,
)
from ct_assets.ml.live_verdicts import (
    LiveJudgement,
    Verdict,
    degradation,
    evaluation_gap,
    label_shift,
    likely_causes,
    not_judged,
)
from ct_assets.ml.records import LiveScore
from ct_assets.ml.tags import Provenance
from ct_assets.names import (
    CHAMPION_PERFORMANCE,
    GAP_CHECK,
    LABEL_SHIFT_CHECK,
    LIVE_CHECK,
    LIVE_PERFORMANCE,
    SERVED_GAP_CHECK,
    SERVED_PERFORMANCE,
)
from ct_assets.partitions import partitioned_check
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.reads.scored import (
    baseline_of,
    latest_figures,
    loaded_by,
    predicted_by,
    scored_records,
)
from ct_assets.stages.common import AC, after_upstream, stage_asset
from ct_assets.stages.live_checks import check_results, verdicts
from resources.alerts import AlertHook
from resources.mlflow_registry import MlflowRegistry
from resources.storage import ArtifactStore

# A feature holding one value in this share of a partition's rows is constant within it: a
# cause named when a champion's holdout did not predict its live partitions.
CONSTANT_WITHIN = 0.95


def _figure(value: float | None) -> float:
    """A tag's figure, NaN when the version has none (trained before ct recorded it)."""
    return math.nan if value is None else value


def slices_markdown(spec: ProjectSpec, rows: pd.DataFrame, predicted: np.ndarray) -> str:
    from ct_assets.ml.evaluation import slice_metrics

    table = slice_metrics(
        rows,
        rows[LABEL].to_numpy(),
        predicted,
        spec.slice_columns,
        spec.gates.slices.min_rows,
        spec.metric,
    )
    return pd.DataFrame(table).to_markdown(index=False) if table else "no slices declared"


def build_performance(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    metric = spec.metric
    policy = spec.policy
    baking_partitions = policy.rollback.baking.partitions
    # The evaluation gap is judged on a champion's probation: its first live partitions.
    first_live = baking_partitions

    @stage_asset(
        CHAMPION_PERFORMANCE,
        group="monitoring",
        partitions=partitions,
        project=project,
        code_version="2",
        kinds={"mlflow"},
        automation=after_upstream(),
        io_manager_key="json_io_manager",
        check_specs=[
            partitioned_check(
                LIVE_CHECK,
                project.namespace.key(CHAMPION_PERFORMANCE),
                partitions,
                description=f"The champion's live {metric} on this partition is not worse than "
                f"its holdout figure by more than {policy.retrain.performance_margin} "
                "(policy.retrain.performance_margin), whatever the retrain policy.",
            ),
            partitioned_check(
                GAP_CHECK,
                project.namespace.key(CHAMPION_PERFORMANCE),
                partitions,
                description=f"On a champion's first {first_live} live partitions, its holdout "
                f"{metric} predicted live within {policy.evaluation_gap} "
                "(policy.evaluation_gap); a failure names what the model leaned on.",
            ),
            partitioned_check(
                LABEL_SHIFT_CHECK,
                project.namespace.key(CHAMPION_PERFORMANCE),
                partitions,
                description="The label rate (binary) or mean (regression) is within "
                f"{policy.label_shift} (an effect size, policy.label_shift) of the champion's "
                "training rows.",
            ),
        ],
    )
    def champion_performance(
        context: dg.AssetExecutionContext,
        features: pd.DataFrame,
        mlflow: MlflowRegistry,
        alerts: AlertHook,
    ):
        """The champion, before this partition's retrain, scored on its labeled rows."""
        from ct_assets.ml.training import predict

        key = context.partition_key
        labels = features[LABEL].to_numpy()
        champion = mlflow.champion_version()
        slices = "not scored"
        loaded = None if champion is None else loaded_by(context, mlflow, champion, features)
        why = "no champion yet" if champion is None else "champion reads other features"
        judged = LiveJudgement.none(why)
        if champion is None or loaded is None:
            # Never a failure: the first retrain must be able to start without a champion.
            result = unscored(metric, len(features), why)
        else:
            family, model = loaded
            predicted = predict(family, model, features)
            move = mlflow.promotion_of(champion)
            scored = scored_records(context.instance, project.namespace)
            baking = is_baking(move, scored, champion, key, baking_partitions)
            previous = str(move["from"]) if baking and move else NONE
            before = None if previous == NONE else predicted_by(context, mlflow, previous, features)
            trained = Provenance.of(mlflow.version_tags(champion))
            result = ChampionScore(
                metric=metric,
                rows=len(features),
                champion_version=champion,
                previous_version=str(move["from"]) if move and move.get("from") else NONE,
                baking=baking,
                champion=measured(metric, labels, predicted),
                previous=NAN if before is None else measured(metric, labels, before),
                baseline=baseline_of(mlflow, champion, metric),
            )
            since = None if move is None else datetime.fromisoformat(str(move["at"])).timestamp()
            index = None if since is None else scored_since(scored, champion, since, key)
            judged = judge(result, index, labels, trained)
            if judged.gap.failed:
                causes = cause_of_gap(family, model, features, labels)
                judged = judged.with_causes(causes)
            slices = slices_markdown(spec, features, predicted)
        figures = result.figures()
        figures.update(judged.figures())
        context.log.info(
            f"champion v{figures['champion_version']} on {key}: {metric} "
            f"{figures[f'champion_{metric}']} (baseline {figures[f'baseline_{metric}']}, "
            f"baking {figures['baking']})"
        )
        for _, verdict, _, kind in verdicts(judged):
            if not verdict.failed:
                continue
            alerts.send(
                context.log,
                f"ct {key}: {verdict.text}",
                {"partition": key, "champion_version": result.champion_version, **verdict.figures},
                kind=kind,
            )
        return dg.MaterializeResult(
            value={**figures, "partition": key, "note": result.note},
            metadata={
                **figures,
                **judged.record(result).entry(),
                "note": result.note or "scored",
                "slices": dg.MetadataValue.md(slices),
            },
            check_results=check_results(judged),
        )

    def judge(
        result: ChampionScore, index: int | None, labels: np.ndarray, trained: Provenance
    ) -> LiveJudgement:
        version = result.champion_version
        return LiveJudgement(
            live=degradation(
                metric, version, result.champion, result.baseline, policy.retrain.performance_margin
            ),
            gap=evaluation_gap(
                metric,
                version,
                result.champion,
                result.baseline,
                policy.evaluation_gap,
                index,
                first_live,
            ),
            shift=label_shift(
                spec.task.type,
                labels,
                _figure(trained.train_label_mean),
                _figure(trained.train_label_std),
                policy.label_shift,
            ),
            live_index=index,
        )

    def cause_of_gap(family: str, model: Any, features: pd.DataFrame, labels: np.ndarray) -> str:
        """What the champion leaned on, on these rows, and which of it can name a partition."""
        from ct_assets.ml.evaluation import permutation_importance
        from ct_assets.ml.training import model_features, own_importance, predict

        read = model_features(family, model)
        importance = own_importance(family, model) or permutation_importance(
            lambda frame: predict(family, model, frame), features, read, labels, metric
        )
        constant = [
            name
            for name in read
            if features[name].notna().any()
            and features[name].value_counts(normalize=True).max() >= CONSTANT_WITHIN
        ]
        return likely_causes(importance, spec.calendar_features, constant)

    @stage_asset(
        SERVED_PERFORMANCE,
        group="monitoring",
        partitions=partitions,
        project=project,
        code_version="2",
        kinds={"parquet"},
        # Requested by the delayed-labels sensor when labels of this partition arrive.
        automation=None,
        io_manager_key="json_io_manager",
        check_specs=[
            partitioned_check(
                SERVED_GAP_CHECK,
                project.namespace.key(SERVED_PERFORMANCE),
                partitions,
                description=f"On the champion's first {first_live} live partitions, its served "
                f"{metric} on labeled requests (at least {policy.rollback.min_requests}) is "
                f"within {policy.evaluation_gap} of its holdout figure (policy.evaluation_gap).",
            )
        ],
    )
    def served_performance(
        context: dg.AssetExecutionContext,
        artifacts: ArtifactStore,
        mlflow: MlflowRegistry,
        alerts: AlertHook,
    ):
        """Served answers of the partition joined to their delayed labels, per model version."""
        from ct_assets.io.labels import kept_labels, labels_dir
        from ct_assets.io.predictions import ANSWER, read
        from ct_assets.ml.live_labels import join_labels, per_version

        key = context.partition_key
        log = read(artifacts.root, [key]).to_pandas()
        answers = log[log["role"] == ANSWER]
        joined = join_labels(answers, kept_labels(labels_dir(artifacts.root), spec))
        versions = per_version(joined, metric)
        routes = per_version(joined, metric, by=("model_version", "route"))
        figures: dict[str, Any] = {"labeled_rows": len(joined)}
        for version, v in versions.items():
            figures[f"v{version}_{metric}"] = v[metric]
            figures[f"v{version}_rows"] = v["rows"]
        gap = served_gap(context, mlflow, versions)
        if gap.failed:
            alerts.send(
                context.log, f"ct {key} (served): {gap.text}", {"partition": key}, "evaluation_gap"
            )
        return dg.MaterializeResult(
            value={"partition": key, "metric": metric, "versions": versions, "routes": routes},
            metadata={
                **figures,
                "metric": metric,
                "answers": len(answers),
                "versions": dg.MetadataValue.json(versions),
                "routes": dg.MetadataValue.json(routes),
                GAP_EXCEEDED: gap.failed,
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=SERVED_GAP_CHECK,
                    passed=gap.passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=gap.text,
                    metadata={"judged": gap.judged, **gap.figures},
                )
            ],
        )

    def served_gap(
        context: dg.AssetExecutionContext,
        mlflow: MlflowRegistry,
        versions: dict[str, dict[str, Any]],
    ) -> Verdict:
        """The champion's served figure on this partition against its holdout, on its first
        live partitions (counted as the prequential score counts them)."""
        champion = mlflow.champion_version()
        served = versions.get(champion or "")
        if champion is None or served is None:
            return not_judged("the champion answered no labeled request of this partition")
        if served["rows"] < policy.rollback.min_requests:
            return not_judged(
                f"{served['rows']} labeled requests of v{champion} (fewer than "
                f"{policy.rollback.min_requests})"
            )
        move = mlflow.promotion_of(champion)
        since = None if move is None else datetime.fromisoformat(str(move["at"])).timestamp()
        scored = scored_records(context.instance, project.namespace)
        index = (
            None if since is None else scored_since(scored, champion, since, context.partition_key)
        )
        baseline = baseline_of(mlflow, champion, metric)
        return evaluation_gap(
            metric, champion, served[metric], baseline, policy.evaluation_gap, index, first_live
        )

    @stage_asset(
        LIVE_PERFORMANCE,
        group="monitoring",
        partitions=None,
        project=project,
        code_version="1",
        kinds={"pandas"},
        # Figures are read from each partition's materialization metadata (cheap); the deps
        # say what it reads and make it refresh when any partition of either updates.
        deps=[
            dg.AssetDep(
                project.namespace.key(CHAMPION_PERFORMANCE),
                partition_mapping=dg.AllPartitionMapping(),
            ),
            dg.AssetDep(
                project.namespace.key(SERVED_PERFORMANCE),
                partition_mapping=dg.AllPartitionMapping(),
            ),
        ],
        automation=(AC.any_deps_updated().since_last_handled() & ~AC.in_progress()).with_label(
            "after_any_performance"
        ),
        io_manager_key="json_io_manager",
    )
    def live_performance(context: dg.AssetExecutionContext) -> dg.MaterializeResult[Any]:
        """Per model version: its prequential and served metric per partition, and baseline."""
        from ct_assets.ml.live_labels import live_table
        from ct_assets.ml.plots import live_plot

        champion = {
            p: score
            for p, f in latest_figures(
                context.instance, project.namespace.key(CHAMPION_PERFORMANCE)
            ).items()
            if (score := LiveScore.from_metadata(f)) is not None
        }
        served = {
            p: f.get("versions") or {}
            for p, f in latest_figures(
                context.instance, project.namespace.key(SERVED_PERFORMANCE)
            ).items()
        }
        table = live_table(champion, served, metric)
        metadata: dict[str, Any] = {
            "metric": metric,
            "versions": ", ".join(dict.fromkeys(table["version"])) if len(table) else "none",
            "partitions": len(champion),
            "served_partitions": len(served),
            "table": dg.MetadataValue.md(
                table.to_markdown(index=False) if len(table) else "nothing scored yet"
            ),
        }
        if len(table):
            metadata["plot"] = dg.MetadataValue.md(live_plot(table, metric))
        return dg.MaterializeResult(
            value={"metric": metric, "rows": table.to_dict(orient="records")}, metadata=metadata
        )

    return [champion_performance, served_performance, live_performance]
