"""Stage 5, candidates: every family on every candidate window; the winner registered in MLflow.

Families compete on several windows of the training rows (`training.windows`: by default the
newest 1 and 3 partitions, the whole window, and the partitions since the champion's live
performance broke) and on the same holdout (`ml.competition`); only the winner is logged and
registered, since only it could be promoted, and the competition is a table in the metadata.
Features that cannot hold tomorrow (they name the partition, or copy the label) are left out
first (`ml.leakage`), with their reasons.

LightGBM and scikit-learn are imported by the step, not with the module: the code location is
loaded by every run worker and sensor tick, most of which never train.
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml import families as model_families
from ct_assets.ml.candidates import (
    feature_selection,
    incremental_note,
    model_inputs,
    provenance,
    search_budget,
    training_tags,
)
from ct_assets.ml.competition import Contender, compete, contend, failures, table, winner
from ct_assets.ml.frames import FEATURE_SET, HOLDOUT, LABEL, PARTITION, SPLIT, TRAIN
from ct_assets.ml.hpo import SearchBudget
from ct_assets.ml.incremental import Base, Plan, plan_refresh, refresh
from ct_assets.ml.loop import change_point
from ct_assets.ml.records import LiveScore, Registered, joined, split_names
from ct_assets.ml.selection import Selection
from ct_assets.ml.tags import ModelLineage, Registration, Search
from ct_assets.ml.vocabulary import BINARY
from ct_assets.ml.windows import Subset, training_subsets
from ct_assets.names import CANDIDATE_MODELS, CHAMPION_PERFORMANCE, Namespace
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.reads.observe import latest_metadata
from ct_assets.stages.common import after_upstream, stage_asset
from resources.alerts import AlertHook
from resources.mlflow_registry import MlflowRegistry

if TYPE_CHECKING:
    from ct_assets.ml.families import Inputs, TrainedModel

CODE_VERSION = "5"
# Training-fit metrics (beside the holdout ones, to show over-fitting) are measured on at most
# this many training rows, evenly spread in time: ROC AUC on 20k rows is within ~0.005 of the
# full figure, and over-fitting shows as a gap several times that; scoring every model on every
# training row would cost seconds of each run for nothing more.
TRAIN_METRIC_ROWS = 20_000


class CandidateConfig(dg.Config):
    families: list[str] | None = None
    """Families to train in this run (default: training.families in ct.yaml)."""
    permute_labels_seed: int | None = None
    """Negative control: train on permuted labels to show the gate refuses a model of noise."""


def incremental_plan(
    mlflow: MlflowRegistry, train: pd.DataFrame, feature_set_id: str, full_every: int
) -> Plan:
    """Whether the incremental candidate can continue the current champion, and on what."""
    version = mlflow.champion_version()
    base = None
    if version is not None:
        tags = mlflow.version_tags(version)
        base = Base(version, Registration.of(tags).family or "", tags)
    return plan_refresh(train, base, feature_set_id, full_every)


def live_breaks(
    instance: dg.DagsterInstance, namespace: Namespace, partitions: Sequence[str]
) -> dict[str, bool]:
    """Partition -> whether the champion's live check failed there, for the partitions scored."""
    out = {}
    key = namespace.key(CHAMPION_PERFORMANCE)
    for partition in partitions:
        score = LiveScore.from_metadata(latest_metadata(instance, key, partition))
        if score is not None:
            out[partition] = score.live_degraded
    return out


def refresh_contender(
    family: str,
    plan: Plan,
    mlflow: MlflowRegistry,
    train: pd.DataFrame,
    labels: pd.Series,
    spec: ProjectSpec,
    holdout: pd.DataFrame,
    predict: Callable[["TrainedModel", pd.DataFrame], np.ndarray],
    score: Callable[[np.ndarray, np.ndarray], dict[str, float]],
) -> Contender:
    """The champion's booster continued on the rows it has not seen, read through its own
    features (whatever this run's selection kept): continued trees must read what the first
    ones read."""
    base, new_rows = plan.base, plan.new_rows
    assert base is not None and new_rows is not None
    new = train[new_rows]

    def continued() -> "TrainedModel":
        _, booster = mlflow.load(base.version)
        return refresh(
            booster, train, labels, plan, spec.training.incremental_rounds, model_inputs(spec)
        )

    return contend(
        family,
        f"refresh of v{base.version}",
        tuple(sorted(new[PARTITION].unique())),
        len(new),
        continued,
        holdout,
        predict,
        score,
    )


def build_candidates(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec

    @stage_asset(
        CANDIDATE_MODELS,
        group="candidates",
        partitions=partitions,
        project=project,
        code_version=CODE_VERSION,
        kinds={"mlflow", *(model_families.get(f).kind for f in spec.training.families)},
        automation=after_upstream(),
        io_manager_key="json_io_manager",
    )
    def candidate_models(
        context: dg.AssetExecutionContext,
        config: CandidateConfig,
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
        alerts: AlertHook,
    ) -> dg.MaterializeResult[list[dict[str, Any]]]:
        """The best of every family on every candidate window, a registered MLflow version."""
        from ct_assets.ml.evaluation import score
        from ct_assets.ml.training import fit_family, predict, training_labels

        partition = context.partition_key
        families = list(config.families or spec.training.families)
        train = training_window[training_window[SPLIT] == TRAIN]
        holdout = training_window[training_window[SPLIT] == HOLDOUT]
        labels = training_labels(train, config.permute_labels_seed)
        selection = feature_selection(training_window, spec)
        for name, why in selection.dropped.items():
            context.log.info(f"feature {name} left out: {why}")
        for name, why in selection.forced.items():
            context.log.warning(f"feature {name}: {why}")
        inputs = model_inputs(spec).only(selection.kept)
        held = sorted(train[PARTITION].unique())
        change = change_point(live_breaks(context.instance, project.namespace, held))
        subsets, skipped = training_subsets(
            train, spec.training.candidate_windows, change, spec.task.type == BINARY
        )
        if not subsets:
            raise dg.Failure(
                "no candidate window has enough training rows: "
                + "; ".join(f"{k}: {v}" for k, v in skipped.items()),
                allow_retries=False,
            )
        plan = incremental_plan(
            mlflow,
            train,
            str(training_window[FEATURE_SET].iloc[0]),
            spec.training.full_retrain_every,
        )
        incremental = incremental_note(plan, families)
        context.log.info(f"incremental candidate: {incremental}")
        budget = search_budget(spec)
        search_run: str | None = None
        longest = max(subsets, key=lambda s: s.size)

        def fit(family: str, rows: pd.DataFrame, their: pd.Series) -> "TrainedModel":
            nonlocal search_run
            searchable = model_families.get(family).searchable
            if searchable and budget.enabled and len(rows) == longest.size:
                search_run = mlflow.start_candidate_run(family, partition)
                return searched(family, rows, their, inputs, budget, mlflow, search_run, spec)
            # A family that continues the champion, with no refresh planned, trains from
            # scratch: the root of a new chain.
            return fit_family(family, rows, their, inputs)

        def predicted(trained: "TrainedModel", frame: pd.DataFrame) -> np.ndarray:
            return predict(trained.family, trained.model, frame)

        def scored(truth: np.ndarray, values: np.ndarray) -> dict[str, float]:
            return score(spec.task.type, truth, values)

        continuing = [f for f in families if model_families.get(f).continues_champion]
        refreshed = continuing if plan.refresh else []
        full = [f for f in families if f not in refreshed]
        contenders = compete(full, subsets, train, labels, holdout, fit, predicted, scored)
        for family in refreshed:
            contenders.append(
                refresh_contender(
                    family, plan, mlflow, train, labels, spec, holdout, predicted, scored
                )
            )
        failed = failures(contenders)
        for family, error in failed.items():
            alerts.send(
                context.log,
                f"ct candidates {partition}: {family} failed ({error}); the others go on",
                {"partition": partition, "family": family, "error": error},
                kind="candidate_failed",
            )
        best = winner(contenders, spec.metric)
        if best is None or best.trained is None:
            raise dg.Failure(
                "every candidate failed: " + "; ".join(f"{k}: {v}" for k, v in failed.items()),
                allow_retries=False,
            )
        searched_best = Search.of(best.trained.tags).trials is not None
        run_id = search_run if searched_best else None
        ref = register(
            context, mlflow, best, train, training_window, selection, spec, config, run_id
        )
        competition = table(contenders, spec.metric, best)
        windows = {s.name: f"{len(s.partitions)} partition(s), {s.size} rows" for s in subsets}
        return dg.MaterializeResult(
            value=[ref],
            metadata={
                **Registered(
                    version=ref["version"],
                    family=best.family,
                    window=best.window,
                    run_id=ref["run_id"],
                    reused=ref["reused"] == "true",
                    training_partitions=split_names(ref["training_partitions"]),
                    batch_ids=split_names(ref["batch_ids"]),
                    feature_set_id=ref["feature_set_id"],
                    metric=spec.metric,
                    holdout=best.value(spec.metric),
                ).entry(),
                "candidates": dg.MetadataValue.md(competition.to_markdown(index=False)),
                "model_versions": ref["version"],
                "version_reused": ref["reused"] == "true",
                "mlflow_run_ids": ref["run_id"],
                "winner": f"{best.family} on {best.window}",
                f"winner_holdout_{spec.metric}": best.value(spec.metric),
                "contenders": len(contenders),
                "windows": dg.MetadataValue.json({**windows, **{k: v for k, v in skipped.items()}}),
                "change_point": change or "none",
                "families_failed": dg.MetadataValue.json(failed) if failed else "none",
                "training_partitions": ref["training_partitions"],
                "batch_ids": ref["batch_ids"],
                "feature_set_id": ref["feature_set_id"],
                "task": spec.task.type,
                "train_rows": len(train),
                "incremental": incremental,
                "search_trials": spec.training.search.trials,
                "search_run": search_run or "none",
                "feature_selection": dg.MetadataValue.md(
                    selection.table().to_markdown(index=False)
                ),
                "features_kept": len(selection.kept),
                "features_dropped": ", ".join(sorted(selection.dropped)) or "none",
                "features_forced": ", ".join(sorted(selection.forced)) or "none",
            },
        )

    return [candidate_models]


def searched(
    family: str,
    rows: pd.DataFrame,
    labels: pd.Series,
    inputs: "Inputs",
    budget: SearchBudget,
    mlflow: MlflowRegistry,
    run_id: str,
    spec: ProjectSpec,
) -> "TrainedModel":
    """The family with the best parameters of a bounded search, its trials logged under
    `run_id`."""
    return model_families.get(family).search(
        rows,
        labels,
        inputs,
        budget,
        lambda number, params, value: mlflow.log_trial(run_id, number, params, value, spec.metric),
        spec.metric,
    )


def register(
    context: dg.AssetExecutionContext,
    mlflow: MlflowRegistry,
    best: Contender,
    train: pd.DataFrame,
    window: pd.DataFrame,
    selection: Selection,
    spec: ProjectSpec,
    config: CandidateConfig,
    run_id: str | None,
) -> dict[str, Any]:
    """Log and register the winner with what it learnt from, and its fit on training rows
    (its holdout figures are the evaluation's to log, on the version as registered)."""
    from ct_assets.ml.evaluation import score
    from ct_assets.ml.training import predict

    assert best.trained is not None
    partition = context.partition_key
    rows = train[np.isin(train[PARTITION].to_numpy(), best.partitions)]
    learnt_from = provenance(
        rows,
        context.run.run_id,
        spec,
        window,
        best.window,
        selection,
        config.permute_labels_seed,
        CODE_VERSION,
    )
    tags = training_tags(rows, partition, learnt_from)
    fit_rows = rows.iloc[:: -(-len(rows) // TRAIN_METRIC_ROWS)]
    fit = score(
        spec.task.type,
        fit_rows[LABEL].to_numpy(),
        predict(best.family, best.trained.model, fit_rows),
    )
    example = window[window[SPLIT] == HOLDOUT].head(20)
    metrics = {f"train_{k}": v for k, v in fit.items()}
    # A retry of a run that died after registering finds that version and returns it.
    ref = mlflow.log_candidate(best.trained, example, metrics, tags, run_id)
    again = " (registered before for the same training: reused)" if ref["reused"] == "true" else ""
    context.log.info(
        f"{best.family} on {best.window}: version {ref['version']}, run {ref['run_id']}{again}"
    )
    # The refresh's own tags (base, rows) win over the window's, as log_candidate merges them.
    learnt = ModelLineage.of({**tags, **best.trained.tags})
    return {
        **ref,
        "window": best.window,
        f"train_{spec.metric}": fit[spec.metric],
        "training_partitions": joined(learnt.training_partitions),
        "batch_ids": joined(learnt.batch_ids),
        "feature_set_id": learnt_from.feature_set_id,
    }


__all__ = ["CandidateConfig", "Subset", "build_candidates", "model_inputs"]
