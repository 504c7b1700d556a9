"""Every MLflow tag ct writes on a model version, a registered model or a run, as typed records.

MLflow tags are strings. Each `ct.*` key is named once, here, as the field of one record: a
writer builds the record and writes `tags()`; a reader gets the record back from `of(tags)` and
nothing else, so a list is a list (joined only when written), a number a number, and a tag that
is missing reads as None or empty, never as "" split into one name.

The keys and the text of every value are what earlier releases wrote and must stay so: models
registered by them are read by this one (and a candidate's key, a hash of its tags, must come
out the same for the same training). Records are partial on purpose: a stage writes the fields
it knows (a refresh writes its rows and features over those of the window it continues), and a
field left None is not written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

NONE = "none"
FULL, INCREMENTAL = "full", "incremental"
PENDING, COMPLETE = "pending", "complete"

# -- the keys -----------------------------------------------------------------------------------

# What a version learnt from (`ModelLineage`).
PARTITION_TAG = "ct.partition"
TRAINING_PARTITIONS_TAG = "ct.training_partitions"
BATCH_IDS_TAG = "ct.batch_ids"
# How it was trained (`Provenance`).
PROJECT_TAG = "ct.project"
TASK_TAG = "ct.task"
METRIC_TAG = "ct.metric"
WINDOW_TAG = "ct.window"
TRAIN_ROWS_TAG = "ct.train_rows"
FEATURES_TAG = "ct.features"
FEATURE_SET_TAG = "ct.feature_set_id"
CODE_VERSION_TAG = "ct.code_version"
RUN_ID_TAG = "ct.dagster_run_id"
LABEL_MEAN_TAG = "ct.train_label_mean"
LABEL_STD_TAG = "ct.train_label_std"
SELECTED_FEATURES_TAG = "ct.selected_features"
SPLIT_STRATEGY_TAG = "ct.split_strategy"
SPLIT_WARNINGS_TAG = "ct.split_warnings"
FORCED_FEATURES_TAG = "ct.forced_features"
PERMUTED_LABELS_SEED_TAG = "ct.permuted_labels_seed"
FORCED_TAG = "ct.forced"
# Its place in a chain of incremental refreshes (`Chain`).
MODE_TAG = "ct.training_mode"
BASE_TAG = "ct.continued_from"
SINCE_FULL_TAG = "ct.partitions_since_full"
STEP_PARTITIONS_TAG = "ct.step_partitions"
STEP_BATCHES_TAG = "ct.step_batch_ids"
# What a bounded hyper-parameter search reached (`Search`).
SEARCH_TRIALS_TAG = "ct.search_trials"
SEARCH_BEST_VALUE_TAG = "ct.search_best_value"
# The registry's own bookkeeping (`Registration`).
FAMILY_TAG = "ct.family"
CANDIDATE_KEY_TAG = "ct.candidate_key"
REGISTRATION_TAG = "ct.registration"
# Marks of the move that made it the champion (`Promotion`).
PROMOTED_AT_TAG = "ct.promoted_at"
PROMOTION_REASON_TAG = "ct.promotion_reason"
PREVIOUS_CHAMPION_TAG = "ct.previous_champion"
# Registered model tags: one per move of the champion alias (`history_tag`).
HISTORY_PREFIX = "ct.history."
# Run tags: a search trial (`Trial`) and an evaluation (`EvaluationRun`).
TRIAL_TAG = "ct.trial"
CANDIDATE_VERSIONS_TAG = "ct.candidate_versions"
CHAMPION_VERSION_TAG = "ct.champion_version"
HOLDOUT_ROWS_TAG = "ct.holdout_rows"

# Tags that differ between two trainings of the same candidate: the run that trained it, and
# what a time-bounded search happened to reach. Every other tag names an input, so a tag added
# later joins the candidate key by default: at worst a retry registers again, never reuses
# another model.
RUN_SPECIFIC_TAGS = frozenset({RUN_ID_TAG, SEARCH_TRIALS_TAG, SEARCH_BEST_VALUE_TAG})


# -- the text of values -------------------------------------------------------------------------


def joined(names: Iterable[str]) -> str:
    """Names as one tag value (MLflow tags are strings), sorted so equal sets are equal tags."""
    return ",".join(sorted(set(names)))


def _names(value: str | None, separator: str = ",") -> list[str] | None:
    """A joined tag as its names: None when the tag is missing, [] when it is empty."""
    if value is None:
        return None
    return [n for n in value.split(separator) if n]


def _warnings(value: str | None) -> list[str] | None:
    """Sentences joined with " | ", "none" when there were none (None: never checked)."""
    return None if value is None else [] if value == NONE else _names(value, " | ")


def _text(value: str | None) -> str | None:
    return value or None


def _int(value: str | None) -> int | None:
    return None if not value else int(value)


def _float(value: str | None) -> float | None:
    """A figure of a tag; None when missing or not a number (a tag edited by hand)."""
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _written(values: Mapping[str, str | None]) -> dict[str, str]:
    """The tags of the fields that were set: a field left None is not written."""
    return {k: v for k, v in values.items() if v is not None}


class TagRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- model version tags -------------------------------------------------------------------------


class ModelLineage(TagRecord):
    """The partition a version was trained for, and the partitions and batches its rows came
    from: written into its tags by `tags()` and read back by `of()`, nowhere else."""

    partition: str | None = None
    training_partitions: list[str] = []
    batch_ids: list[str] = []

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> ModelLineage:
        return cls(
            partition=_text(tags.get(PARTITION_TAG)),
            training_partitions=_names(tags.get(TRAINING_PARTITIONS_TAG)) or [],
            batch_ids=_names(tags.get(BATCH_IDS_TAG)) or [],
        )

    def tags(self) -> dict[str, str]:
        out = {
            TRAINING_PARTITIONS_TAG: joined(self.training_partitions),
            BATCH_IDS_TAG: joined(self.batch_ids),
        }
        return out if self.partition is None else {PARTITION_TAG: self.partition, **out}


class Provenance(TagRecord):
    """What an auditor needs on a version: the project, data, features, split and code it came
    from. Every field is optional: a refresh writes only its rows and features, an operator's
    forced model only its feature set and why."""

    project: str | None = None
    task: str | None = None
    metric: str | None = None
    window: str | None = None
    train_rows: int | None = None
    features: list[str] | None = None
    feature_set_id: str | None = None
    code_version: str | None = None
    dagster_run_id: str | None = None
    # The training rows' label mean and spread: what a later label rate is held against.
    train_label_mean: float | None = None
    train_label_std: float | None = None
    # In the order the model reads them (not sorted).
    selected_features: list[str] | None = None
    split_strategy: str | None = None
    # [] is written as "none": the split was checked and nothing was found.
    split_warnings: list[str] | None = None
    # Written only when the project forced some in.
    forced_features: list[str] = []
    permuted_labels_seed: int | None = None
    # Why an operator forced this model in with no gate (the demo's negative control).
    forced: str | None = None

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Provenance:
        return cls(
            project=tags.get(PROJECT_TAG),
            task=tags.get(TASK_TAG),
            metric=tags.get(METRIC_TAG),
            window=tags.get(WINDOW_TAG),
            train_rows=_int(tags.get(TRAIN_ROWS_TAG)),
            features=_names(tags.get(FEATURES_TAG)),
            feature_set_id=tags.get(FEATURE_SET_TAG),
            code_version=tags.get(CODE_VERSION_TAG),
            dagster_run_id=tags.get(RUN_ID_TAG),
            train_label_mean=_float(tags.get(LABEL_MEAN_TAG)),
            train_label_std=_float(tags.get(LABEL_STD_TAG)),
            selected_features=_names(tags.get(SELECTED_FEATURES_TAG)),
            split_strategy=tags.get(SPLIT_STRATEGY_TAG),
            split_warnings=_warnings(tags.get(SPLIT_WARNINGS_TAG)),
            forced_features=_names(tags.get(FORCED_FEATURES_TAG)) or [],
            permuted_labels_seed=_int(tags.get(PERMUTED_LABELS_SEED_TAG)),
            forced=tags.get(FORCED_TAG),
        )

    def tags(self) -> dict[str, str]:
        def number(value: float | None) -> str | None:
            return None if value is None else f"{value:.6g}"

        def names(values: list[str] | None) -> str | None:
            return None if values is None else ",".join(values)

        warnings = self.split_warnings
        return _written(
            {
                PROJECT_TAG: self.project,
                TASK_TAG: self.task,
                METRIC_TAG: self.metric,
                WINDOW_TAG: self.window,
                TRAIN_ROWS_TAG: None if self.train_rows is None else str(self.train_rows),
                FEATURES_TAG: names(self.features),
                FEATURE_SET_TAG: self.feature_set_id,
                CODE_VERSION_TAG: self.code_version,
                RUN_ID_TAG: self.dagster_run_id,
                LABEL_MEAN_TAG: number(self.train_label_mean),
                LABEL_STD_TAG: number(self.train_label_std),
                SELECTED_FEATURES_TAG: names(self.selected_features),
                SPLIT_STRATEGY_TAG: self.split_strategy,
                # MLflow tag values are bounded; the warnings are short sentences.
                SPLIT_WARNINGS_TAG: None if warnings is None else " | ".join(warnings) or NONE,
                FORCED_FEATURES_TAG: names(sorted(self.forced_features) or None),
                PERMUTED_LABELS_SEED_TAG: (
                    None if self.permuted_labels_seed is None else str(self.permuted_labels_seed)
                ),
                FORCED_TAG: self.forced,
            }
        )


class Chain(TagRecord):
    """A version's place in a chain of incremental refreshes: a full retrain starts one (0
    partitions since), a refresh continues its base on the partitions and batches of its step.
    A version with no mode tag was trained in full."""

    mode: str = FULL
    partitions_since_full: int = 0
    continued_from: str | None = None
    step_partitions: list[str] | None = None
    step_batch_ids: list[str] | None = None

    @property
    def incremental(self) -> bool:
        return self.mode == INCREMENTAL

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Chain:
        return cls(
            mode=tags.get(MODE_TAG) or FULL,
            partitions_since_full=_int(tags.get(SINCE_FULL_TAG)) or 0,
            continued_from=_text(tags.get(BASE_TAG)),
            step_partitions=_names(tags.get(STEP_PARTITIONS_TAG)),
            step_batch_ids=_names(tags.get(STEP_BATCHES_TAG)),
        )

    def tags(self) -> dict[str, str]:
        def names(values: list[str] | None) -> str | None:
            return None if values is None else ",".join(values)

        return _written(
            {
                MODE_TAG: self.mode,
                BASE_TAG: self.continued_from,
                SINCE_FULL_TAG: str(self.partitions_since_full),
                STEP_PARTITIONS_TAG: names(self.step_partitions),
                STEP_BATCHES_TAG: names(self.step_batch_ids),
            }
        )


class Search(TagRecord):
    """What a time-bounded hyper-parameter search reached (None: the model was not searched)."""

    trials: int | None = None
    best_value: float | None = None

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Search:
        return cls(
            trials=_int(tags.get(SEARCH_TRIALS_TAG)),
            best_value=_float(tags.get(SEARCH_BEST_VALUE_TAG)),
        )

    def tags(self) -> dict[str, str]:
        return _written(
            {
                SEARCH_TRIALS_TAG: None if self.trials is None else str(self.trials),
                SEARCH_BEST_VALUE_TAG: None if self.best_value is None else f"{self.best_value}",
            }
        )


class Registration(TagRecord):
    """The registry's bookkeeping of a version: its family, the key of what it was trained from
    (a retried run finds its version by it), and whether its registration finished.

    A version is registered "pending" (with all its tags, in one write) and marked "complete"
    last: a process that dies in between leaves a version that nothing may promote or serve. A
    version without the tag was registered before this protocol, in one write, so it is
    complete."""

    family: str | None = None
    candidate_key: str | None = None
    state: str | None = None

    @property
    def complete(self) -> bool:
        return (self.state or COMPLETE) == COMPLETE

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Registration:
        return cls(
            family=tags.get(FAMILY_TAG),
            candidate_key=tags.get(CANDIDATE_KEY_TAG),
            state=tags.get(REGISTRATION_TAG),
        )

    def tags(self) -> dict[str, str]:
        return _written(
            {
                FAMILY_TAG: self.family,
                CANDIDATE_KEY_TAG: self.candidate_key,
                REGISTRATION_TAG: self.state,
            }
        )


class Promotion(TagRecord):
    """The marks of the move that last made a version the champion (None: never was)."""

    reason: str | None = None
    previous_champion: str | None = None
    promoted_at: str | None = None

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Promotion:
        return cls(
            reason=tags.get(PROMOTION_REASON_TAG),
            previous_champion=_text(tags.get(PREVIOUS_CHAMPION_TAG)),
            promoted_at=tags.get(PROMOTED_AT_TAG),
        )

    def tags(self) -> dict[str, str]:
        """In the order they are to be written: `promoted_at` last, as the registry's
        reconcile reads it to know a move was applied in full."""
        return _written(
            {
                PROMOTION_REASON_TAG: self.reason,
                PREVIOUS_CHAMPION_TAG: self.previous_champion or "",
                PROMOTED_AT_TAG: self.promoted_at,
            }
        )


# -- registered model and run tags --------------------------------------------------------------


def history_tag(moment: datetime, move: Mapping[str, Any]) -> tuple[str, str]:
    """One move of the champion alias as a registered model tag: keys sort by time."""
    return f"{HISTORY_PREFIX}{moment.strftime('%Y%m%dT%H%M%S.%fZ')}", json.dumps(move)


def history_moves(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every move of the champion alias a registered model's tags record, oldest first (a
    record from before moves had kinds was a promotion)."""
    moves = [json.loads(v) for k, v in sorted(tags.items()) if k.startswith(HISTORY_PREFIX)]
    return [{"kind": "promote", **m} for m in moves]


class Trial(TagRecord):
    """A search trial's run (a child of its candidate's run)."""

    number: int

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Trial:
        return cls(number=int(tags[TRIAL_TAG]))

    def tags(self) -> dict[str, str]:
        return {TRIAL_TAG: str(self.number)}


class EvaluationRun(TagRecord):
    """The run of one evaluation: the candidates it compared with the champion, on how many
    holdout rows of which partition, by which metric."""

    partition: str
    dagster_run_id: str
    candidate_versions: list[str] = []
    champion_version: str | None = None
    holdout_rows: int = 0
    metric: str = ""

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> EvaluationRun:
        return cls(
            partition=tags[PARTITION_TAG],
            dagster_run_id=tags[RUN_ID_TAG],
            candidate_versions=_names(tags.get(CANDIDATE_VERSIONS_TAG)) or [],
            champion_version=_text(tags.get(CHAMPION_VERSION_TAG)),
            holdout_rows=_int(tags.get(HOLDOUT_ROWS_TAG)) or 0,
            metric=tags.get(METRIC_TAG, ""),
        )

    def tags(self) -> dict[str, str]:
        return {
            PARTITION_TAG: self.partition,
            RUN_ID_TAG: self.dagster_run_id,
            CANDIDATE_VERSIONS_TAG: ",".join(self.candidate_versions),
            CHAMPION_VERSION_TAG: self.champion_version or "",
            HOLDOUT_ROWS_TAG: str(self.holdout_rows),
            METRIC_TAG: self.metric,
        }
