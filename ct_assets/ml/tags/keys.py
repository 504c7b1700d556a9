"""The keys of every MLflow tag ct writes, and how the text of a value is read and written.

Only the records of this package use these: a key is named here once, and the text of its value
is what earlier releases wrote (see the package's docstring).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def names_of(value: str | None, separator: str = ",") -> list[str] | None:
    """A joined tag as its names: None when the tag is missing, [] when it is empty."""
    if value is None:
        return None
    return [n for n in value.split(separator) if n]


def warnings_of(value: str | None) -> list[str] | None:
    """Sentences joined with " | ", "none" when there were none (None: never checked)."""
    return None if value is None else [] if value == NONE else names_of(value, " | ")


def text_of(value: str | None) -> str | None:
    return value or None


def int_of(value: str | None) -> int | None:
    return None if not value else int(value)


def float_of(value: str | None) -> float | None:
    """A figure of a tag; None when missing or not a number (a tag edited by hand)."""
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def written(values: Mapping[str, str | None]) -> dict[str, str]:
    """The tags of the fields that were set: a field left None is not written."""
    return {k: v for k, v in values.items() if v is not None}


class TagRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
