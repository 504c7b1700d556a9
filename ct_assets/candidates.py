"""Stage 5, candidates: one model per family, logged and registered in MLflow.

LightGBM and scikit-learn are imported by the step, not with the module: the code location is
loaded by every run worker and sensor tick, most of which never train.
"""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from ct_assets.ml.frames import BATCH, FEATURE_SET, HOLDOUT, LABEL, PARTITION, SPLIT, TRAIN
from ct_assets.ml.hpo import SearchBudget, search_lightgbm
from ct_assets.ml.incremental import (
    FULL,
    MODE_TAG,
    SINCE_FULL_TAG,
    Base,
    Plan,
    plan_refresh,
    refresh,
)
from ct_assets.ml.selection import Selection, select_features
from ct_assets.ml.vocabulary import LIGHTGBM, LIGHTGBM_INCREMENTAL
from ct_assets.ml.windows import split_warnings
from ct_assets.names import CANDIDATE_MODELS
from ct_assets.policy import after_upstream, stage_asset
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec, parse_duration
from resources.mlflow_registry import FAMILY_TAG, FEATURE_SET_TAG, MlflowRegistry

if TYPE_CHECKING:
    from ct_assets.ml.training import Inputs, TrainedModel

CODE_VERSION = "4"
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


def model_inputs(spec: ProjectSpec) -> "Inputs":
    from ct_assets.ml.training import Inputs

    return Inputs(spec.task.type, spec.feature_names, spec.categorical_inputs)


def search_budget(spec: ProjectSpec) -> SearchBudget:
    search = spec.training.search
    seconds = parse_duration(search.timeout).total_seconds()
    return SearchBudget(trials=search.trials, timeout_seconds=seconds)


def training_tags(
    window: pd.DataFrame, partition: str, run_id: str, spec: ProjectSpec
) -> dict[str, str]:
    """What an auditor needs on the model version: the data and code it came from."""
    return {
        "ct.project": spec.name,
        "ct.task": spec.task.type,
        "ct.metric": spec.metric,
        "ct.partition": partition,
        "ct.training_partitions": ",".join(sorted(window[PARTITION].unique())),
        "ct.batch_ids": ",".join(sorted(window[BATCH].unique())),
        "ct.train_rows": str(int((window[SPLIT] == TRAIN).sum())),
        "ct.features": ",".join(spec.feature_names),
        FEATURE_SET_TAG: str(window[FEATURE_SET].iloc[0]),
        "ct.code_version": CODE_VERSION,
        "ct.dagster_run_id": run_id,
        # A model trained from scratch starts (or restarts) a chain of incremental refreshes.
        MODE_TAG: FULL,
        SINCE_FULL_TAG: "0",
    }


def feature_selection(train: pd.DataFrame, spec: ProjectSpec) -> Selection:
    """The features to train on this time; importance is computed only when it decides."""
    from ct_assets.ml.training import importance

    config = spec.training.selection
    names = list(spec.feature_names)
    first = select_features(train, names, config)
    if not config.top_k or len(first.kept) <= config.top_k:
        return first
    ranked = importance(train, model_inputs(spec).only(first.kept))
    return select_features(train, names, config, ranked)


def incremental_plan(
    mlflow: MlflowRegistry, train: pd.DataFrame, feature_set_id: str, full_every: int
) -> Plan:
    """Whether the incremental candidate can continue the current champion, and on what."""
    version = mlflow.champion_version()
    base = None
    if version is not None:
        tags = mlflow.version_tags(version)
        base = Base(version, tags.get(FAMILY_TAG, ""), tags)
    return plan_refresh(train, base, feature_set_id, full_every)


def train_candidate(
    family: str,
    train: pd.DataFrame,
    labels: pd.Series,
    inputs: "Inputs",
    spec: ProjectSpec,
    plan: Plan,
    mlflow: MlflowRegistry,
    run_id: str,
) -> "TrainedModel":
    """One family's model: searched, continued from the champion, or trained from scratch."""
    from ct_assets.ml.training import fit_family, train_lightgbm

    budget = search_budget(spec)
    if family == LIGHTGBM and budget.enabled:
        found = search_lightgbm(
            train,
            labels,
            inputs,
            budget,
            lambda number, params, value: mlflow.log_trial(
                run_id, number, params, value, spec.metric
            ),
            spec.metric,
        )
        searched = train_lightgbm(train, labels, inputs, found.best_params)
        searched.tags.update(
            {"ct.search_trials": str(found.trials), "ct.search_best_value": f"{found.best_value}"}
        )
        return searched
    if family == LIGHTGBM_INCREMENTAL:
        if plan.refresh and plan.base is not None:
            _, booster = mlflow.load(plan.base.version)
            return refresh(booster, train, labels, plan, spec.training.incremental_rounds, inputs)
        # The chain restarts from scratch, as the root of the next one.
        return replace(train_lightgbm(train, labels, inputs), family=LIGHTGBM_INCREMENTAL)
    return fit_family(family, train, labels, inputs)


def build_candidates(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec

    @stage_asset(
        CANDIDATE_MODELS,
        group="candidates",
        partitions=partitions,
        project=spec.name,
        code_version=CODE_VERSION,
        kinds={"lightgbm", "scikitlearn", "mlflow"},
        automation=after_upstream(),
        io_manager_key="json_io_manager",
    )
    def candidate_models(
        context: dg.AssetExecutionContext,
        config: CandidateConfig,
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
    ) -> dg.MaterializeResult[list[dict[str, Any]]]:
        """Models trained on the window's training rows, each a registered MLflow version."""
        from ct_assets.ml.evaluation import score
        from ct_assets.ml.training import predict, training_labels

        families = list(config.families or spec.training.families)
        train = training_window[training_window[SPLIT] == TRAIN]
        labels = training_labels(train, config.permute_labels_seed)
        example = training_window[training_window[SPLIT] == HOLDOUT].head(20)
        selection = feature_selection(train, spec)
        for name, why in selection.dropped.items():
            context.log.info(f"feature {name} left out: {why}")
        inputs = model_inputs(spec).only(selection.kept)
        partition = context.partition_key
        tags = training_tags(training_window, partition, context.run.run_id, spec)
        tags["ct.selected_features"] = ",".join(selection.kept)
        tags["ct.split_strategy"] = spec.training.split
        # MLflow tag values are bounded; the warnings are short sentences.
        tags["ct.split_warnings"] = (
            " | ".join(split_warnings(training_window, spec.training.split)) or "none"
        )
        if config.permute_labels_seed is not None:
            tags["ct.permuted_labels_seed"] = str(config.permute_labels_seed)
        fit_rows = train.iloc[:: -(-len(train) // TRAIN_METRIC_ROWS)]
        full_every = spec.training.full_retrain_every
        plan = incremental_plan(mlflow, train, tags[FEATURE_SET_TAG], full_every)
        incremental = plan.reason
        if LIGHTGBM_INCREMENTAL not in families:
            incremental = "not among the candidate families"
        elif not plan.refresh and LIGHTGBM in families:
            # This run's full LightGBM candidate is the retrain; training it twice would
            # register one model under two names.
            families.remove(LIGHTGBM_INCREMENTAL)
            incremental = f"{plan.reason}: the {LIGHTGBM} candidate is the full retrain"
        elif not plan.refresh:
            incremental = f"{plan.reason}: full retrain"
        context.log.info(f"incremental candidate: {incremental}")
        refs: list[dict[str, Any]] = []
        for family in families:
            run_id = mlflow.start_candidate_run(family, partition)
            trained = train_candidate(family, train, labels, inputs, spec, plan, mlflow, run_id)
            fit = score(
                spec.task.type,
                fit_rows[LABEL].to_numpy(),
                predict(family, trained.model, fit_rows),
            )
            ref = mlflow.log_candidate(
                trained, example, {f"train_{k}": v for k, v in fit.items()}, tags, run_id
            )
            context.log.info(f"{family}: version {ref['version']}, run {ref['run_id']}")
            refs.append({**ref, f"train_{spec.metric}": fit[spec.metric]})
        shown = ["family", "mode", "version", "run_id", f"train_{spec.metric}"]
        table = pd.DataFrame(refs)[shown]
        return dg.MaterializeResult(
            value=refs,
            metadata={
                "candidates": dg.MetadataValue.md(table.to_markdown(index=False)),
                "model_versions": ", ".join(r["version"] for r in refs),
                "mlflow_run_ids": ", ".join(r["run_id"] for r in refs),
                "training_partitions": tags["ct.training_partitions"],
                "batch_ids": tags["ct.batch_ids"],
                "feature_set_id": tags[FEATURE_SET_TAG],
                "task": spec.task.type,
                "train_rows": len(train),
                "train_metric_rows": len(fit_rows),
                "incremental": incremental,
                "search_trials": spec.training.search.trials,
                "feature_selection": dg.MetadataValue.md(
                    selection.table().to_markdown(index=False)
                ),
                "features_kept": len(selection.kept),
                "features_dropped": ", ".join(sorted(selection.dropped)) or "none",
            },
        )

    return [candidate_models]
