"""The tags of a model version: what it learnt from, how it was trained, its place in a chain
of refreshes, its search, its registration and its promotion; one record each."""

from __future__ import annotations

from collections.abc import Mapping

from ct_assets.ml.tags.keys import (
    BASE_TAG,
    BATCH_IDS_TAG,
    CANDIDATE_KEY_TAG,
    CODE_VERSION_TAG,
    COMPLETE,
    FAMILY_TAG,
    FEATURE_SET_TAG,
    FEATURES_TAG,
    FORCED_FEATURES_TAG,
    FORCED_TAG,
    FULL,
    INCREMENTAL,
    LABEL_MEAN_TAG,
    LABEL_STD_TAG,
    METRIC_TAG,
    MODE_TAG,
    NONE,
    PARTITION_TAG,
    PERMUTED_LABELS_SEED_TAG,
    PREVIOUS_CHAMPION_TAG,
    PROJECT_TAG,
    PROMOTED_AT_TAG,
    PROMOTION_REASON_TAG,
    REGISTRATION_TAG,
    RUN_ID_TAG,
    SEARCH_BEST_VALUE_TAG,
    SEARCH_TRIALS_TAG,
    SELECTED_FEATURES_TAG,
    SINCE_FULL_TAG,
    SPLIT_STRATEGY_TAG,
    SPLIT_WARNINGS_TAG,
    STEP_BATCHES_TAG,
    STEP_PARTITIONS_TAG,
    TASK_TAG,
    TRAIN_ROWS_TAG,
    TRAINING_PARTITIONS_TAG,
    WINDOW_TAG,
    TagRecord,
    float_of,
    int_of,
    joined,
    names_of,
    text_of,
    warnings_of,
    written,
)

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
            partition=text_of(tags.get(PARTITION_TAG)),
            training_partitions=names_of(tags.get(TRAINING_PARTITIONS_TAG)) or [],
            batch_ids=names_of(tags.get(BATCH_IDS_TAG)) or [],
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
            train_rows=int_of(tags.get(TRAIN_ROWS_TAG)),
            features=names_of(tags.get(FEATURES_TAG)),
            feature_set_id=tags.get(FEATURE_SET_TAG),
            code_version=tags.get(CODE_VERSION_TAG),
            dagster_run_id=tags.get(RUN_ID_TAG),
            train_label_mean=float_of(tags.get(LABEL_MEAN_TAG)),
            train_label_std=float_of(tags.get(LABEL_STD_TAG)),
            selected_features=names_of(tags.get(SELECTED_FEATURES_TAG)),
            split_strategy=tags.get(SPLIT_STRATEGY_TAG),
            split_warnings=warnings_of(tags.get(SPLIT_WARNINGS_TAG)),
            forced_features=names_of(tags.get(FORCED_FEATURES_TAG)) or [],
            permuted_labels_seed=int_of(tags.get(PERMUTED_LABELS_SEED_TAG)),
            forced=tags.get(FORCED_TAG),
        )

    def tags(self) -> dict[str, str]:
        def number(value: float | None) -> str | None:
            return None if value is None else f"{value:.6g}"

        def names(values: list[str] | None) -> str | None:
            return None if values is None else ",".join(values)

        warnings = self.split_warnings
        return written(
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
            partitions_since_full=int_of(tags.get(SINCE_FULL_TAG)) or 0,
            continued_from=text_of(tags.get(BASE_TAG)),
            step_partitions=names_of(tags.get(STEP_PARTITIONS_TAG)),
            step_batch_ids=names_of(tags.get(STEP_BATCHES_TAG)),
        )

    def tags(self) -> dict[str, str]:
        def names(values: list[str] | None) -> str | None:
            return None if values is None else ",".join(values)

        return written(
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
            trials=int_of(tags.get(SEARCH_TRIALS_TAG)),
            best_value=float_of(tags.get(SEARCH_BEST_VALUE_TAG)),
        )

    def tags(self) -> dict[str, str]:
        return written(
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
        return written(
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
            previous_champion=text_of(tags.get(PREVIOUS_CHAMPION_TAG)),
            promoted_at=tags.get(PROMOTED_AT_TAG),
        )

    def tags(self) -> dict[str, str]:
        """In the order they are to be written: `promoted_at` last, as the registry's
        reconcile reads it to know a move was applied in full."""
        return written(
            {
                PROMOTION_REASON_TAG: self.reason,
                PREVIOUS_CHAMPION_TAG: self.previous_champion or "",
                PROMOTED_AT_TAG: self.promoted_at,
            }
        )
