"""What a candidate is trained on and tagged with: the project's inputs and search budget, the
features selected for this run (leak guards included), and the tags of its model version.

Pure: the candidates stage (ct_assets/stages/candidates.py) runs these and logs the winner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ct_assets.ml import families as model_families
from ct_assets.ml.frames import BATCH, FEATURE_SET, HOLDOUT, LABEL, PARTITION, SPLIT, TRAIN
from ct_assets.ml.hpo import SearchBudget
from ct_assets.ml.incremental import Plan
from ct_assets.ml.leakage import copies_of_label, partition_identifying, single_feature_leaks
from ct_assets.ml.selection import Selection, select_features
from ct_assets.ml.tags import Chain, ModelLineage, Provenance
from ct_assets.ml.windows import split_warnings
from ct_assets.project.spec import ProjectSpec, parse_duration

if TYPE_CHECKING:
    from ct_assets.ml.families import Inputs


def model_inputs(spec: ProjectSpec) -> Inputs:
    from ct_assets.ml.families import Inputs

    return Inputs(spec.task.type, spec.feature_names, spec.categorical_inputs)


def search_budget(spec: ProjectSpec) -> SearchBudget:
    search = spec.training.search
    seconds = parse_duration(search.timeout).total_seconds()
    return SearchBudget(trials=search.trials, timeout_seconds=seconds)


def provenance(
    rows: pd.DataFrame,
    run_id: str,
    spec: ProjectSpec,
    window: pd.DataFrame,
    window_name: str,
    selection: Selection,
    permute_labels_seed: int | None,
    code_version: str,
) -> Provenance:
    """What an auditor needs on the model version: the data, features, split and code it came
    from.

    `rows` are the training rows the model learnt from (its window of the training window);
    their label mean and spread are what a later partition's label rate is held against (a
    prior shift).
    """
    labels = rows[LABEL].to_numpy(dtype=float)
    return Provenance(
        project=spec.name,
        task=spec.task.type,
        metric=spec.metric,
        window=window_name,
        train_rows=len(rows),
        features=list(spec.feature_names),
        feature_set_id=str(rows[FEATURE_SET].iloc[0]),
        code_version=code_version,
        dagster_run_id=run_id,
        train_label_mean=float(np.mean(labels)),
        train_label_std=float(np.std(labels)),
        selected_features=list(selection.kept),
        split_strategy=spec.training.split,
        split_warnings=split_warnings(window, spec.training.split),
        forced_features=sorted(selection.forced),
        permuted_labels_seed=permute_labels_seed,
    )


def training_tags(rows: pd.DataFrame, partition: str, learnt: Provenance) -> dict[str, str]:
    """The tags of a version trained from scratch on `rows` for `partition`."""
    return {
        **learnt.tags(),
        **ModelLineage(
            partition=partition,
            training_partitions=sorted(rows[PARTITION].unique()),
            batch_ids=sorted(rows[BATCH].unique()),
        ).tags(),
        # A model trained from scratch starts (or restarts) a chain of incremental refreshes.
        **Chain().tags(),
    }


def feature_selection(window: pd.DataFrame, spec: ProjectSpec) -> Selection:
    """The features to train on this time: pruned (constant, mostly null, top K), then the leak
    guards (partition-naming, label copies), then what the project forces in."""
    from ct_assets.ml.training import importance

    config = spec.training.selection
    names = list(spec.feature_names)
    train = window[window[SPLIT] == TRAIN]
    holdout = window[window[SPLIT] == HOLDOUT]
    first = select_features(train, names, config)
    if config.top_k and len(first.kept) > config.top_k:
        ranked = importance(train, model_inputs(spec).only(first.kept))
        first = select_features(train, names, config, ranked)
    leaks = {
        **partition_identifying(window, names),
        **single_feature_leaks(
            holdout,
            names,
            spec.categorical_inputs,
            spec.task.type,
            config.max_single_feature_score,
        ),
        **copies_of_label(train, names),
    }
    return first.guarded(leaks, list(config.force))


def incremental_note(plan: Plan, families: list[str]) -> str:
    """What the incremental candidate does this run, in words; a continuing family whose
    from-scratch twin trains too is taken out of `families` (it would only duplicate it)."""
    continuing = [f for f in families if model_families.get(f).continues_champion]
    if not continuing:
        return "not among the candidate families"
    if plan.refresh:
        return plan.reason
    notes = []
    for family in continuing:
        twin = model_families.get(family).restarts_as
        if twin in families:
            families.remove(family)
            notes.append(f"{plan.reason}: the {twin} candidates are the full retrain")
        else:
            notes.append(f"{plan.reason}: full retrain")
    return "; ".join(dict.fromkeys(notes))
