"""Stage 5, candidates: one model per family, logged and registered in MLflow."""

from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.evaluation import score
from ct_assets.ml.features import FEATURE_COLUMNS, FEATURE_SET
from ct_assets.ml.schema import LABEL
from ct_assets.ml.selection import Selection, SelectionConfig, select_features
from ct_assets.ml.training import FAMILIES, importance, inputs, predict_proba, train_family
from ct_assets.ml.windows import HOLDOUT, PARTITION, SPLIT, TRAIN, split_warnings
from ct_assets.settings import PipelineSettings
from resources.mlflow_registry import FEATURE_SET_TAG, MlflowRegistry
from sensors.automation import after_upstream

CANDIDATE_MODELS = "candidate_models"
CODE_VERSION = "2"


class CandidateConfig(dg.Config):
    families: list[str] = list(FAMILIES)
    permute_labels_seed: int | None = None
    """Negative control: train on permuted labels to show the gate refuses a model of noise."""


def training_tags(window: pd.DataFrame, partition: str, run_id: str) -> dict[str, str]:
    """What an auditor needs on the model version: the data and code it came from."""
    return {
        "ct.partition": partition,
        "ct.training_partitions": ",".join(sorted(window[PARTITION].unique())),
        "ct.batch_ids": ",".join(sorted(window["batch_id"].unique())),
        "ct.train_rows": str(int((window[SPLIT] == TRAIN).sum())),
        "ct.features": ",".join(FEATURE_COLUMNS),
        FEATURE_SET_TAG: str(window[FEATURE_SET].iloc[0]),
        "ct.code_version": CODE_VERSION,
        "ct.dagster_run_id": run_id,
    }


def feature_selection(train: pd.DataFrame, config: SelectionConfig) -> Selection:
    """The features to train on this time; importance is computed only when it decides."""
    first = select_features(train, list(FEATURE_COLUMNS), config)
    if not config.top_k or len(first.kept) <= config.top_k:
        return first
    return select_features(train, list(FEATURE_COLUMNS), config, importance(train, first.kept))


def build_candidates(
    settings: PipelineSettings, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=CANDIDATE_MODELS,
        partitions_def=partitions,
        group_name="candidates",
        code_version=CODE_VERSION,
        kinds={"lightgbm", "scikitlearn", "mlflow"},
        io_manager_key="json_io_manager",
        automation_condition=after_upstream(),
    )
    def candidate_models(
        context: dg.AssetExecutionContext,
        config: CandidateConfig,
        training_window: pd.DataFrame,
        mlflow: MlflowRegistry,
    ) -> dg.MaterializeResult[list[dict[str, Any]]]:
        """Models trained on the window's training rows, each a registered MLflow version."""
        train = training_window[training_window[SPLIT] == TRAIN]
        example = inputs(training_window[training_window[SPLIT] == HOLDOUT].head(20))
        selection = feature_selection(train, settings.selection)
        for name, why in selection.dropped.items():
            context.log.info(f"feature {name} left out: {why}")
        tags = training_tags(training_window, context.partition_key, context.run.run_id)
        tags["ct.selected_features"] = ",".join(selection.kept)
        tags["ct.split_strategy"] = settings.split_strategy
        # MLflow tag values are bounded; the warnings are short sentences.
        tags["ct.split_warnings"] = (
            " | ".join(split_warnings(training_window, settings.split_strategy)) or "none"
        )
        if config.permute_labels_seed is not None:
            tags["ct.permuted_labels_seed"] = str(config.permute_labels_seed)
        refs: list[dict[str, Any]] = []
        for family in config.families:
            trained = train_family(family, train, config.permute_labels_seed, selection.kept)
            fit = score(train[LABEL].to_numpy(), predict_proba(family, trained.model, train))
            ref = mlflow.log_candidate(
                trained, example, {f"train_{k}": v for k, v in fit.items()}, tags
            )
            context.log.info(f"{family}: version {ref['version']}, run {ref['run_id']}")
            refs.append({**ref, "train_roc_auc": fit["roc_auc"]})
        table = pd.DataFrame(refs)[["family", "version", "run_id", "train_roc_auc"]]
        return dg.MaterializeResult(
            value=refs,
            metadata={
                "candidates": dg.MetadataValue.md(table.to_markdown(index=False)),
                "model_versions": ", ".join(r["version"] for r in refs),
                "mlflow_run_ids": ", ".join(r["run_id"] for r in refs),
                "training_partitions": tags["ct.training_partitions"],
                "batch_ids": tags["ct.batch_ids"],
                "feature_set_id": tags[FEATURE_SET_TAG],
                "train_rows": len(train),
                "feature_selection": dg.MetadataValue.md(
                    selection.table().to_markdown(index=False)
                ),
                "features_kept": len(selection.kept),
                "features_dropped": ", ".join(sorted(selection.dropped)) or "none",
            },
        )

    return [candidate_models]
