"""Typed records one stage hands to another through Dagster's event log.

A stage writes its record once, as one JSON entry of its materialization's metadata
(`StageRecord.entry`); a sensor, command or later stage reads it back through
`StageRecord.from_metadata` and nothing else. The other metadata entries are the display in the
UI: renaming one of them changes what a user sees, never what a sensor decides. A field renamed
here fails type checking where it is read, and a record that no longer validates fails loudly
instead of reading as a missing key (NaN).

Materializations written before a record existed have only the display entries: `legacy` reads
those, in this module only, so an existing instance keeps its history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

# What a model version's MLflow tags say it learnt from: a record of the tags module, named
# here too as the stages that hand it on import it from here.
from ct_assets.ml.tags import (
    BATCH_IDS_TAG,
    NONE,
    PARTITION_TAG,
    TRAINING_PARTITIONS_TAG,
    ModelLineage,
    joined,
)


class StageRecord(BaseModel):
    # NaN is a real value here (a champion not scored yet): kept as NaN through JSON.
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    # The metadata entry that holds the record.
    KEY: ClassVar[str]

    def entry(self) -> dict[str, Any]:
        """The record as one metadata entry (a dict becomes Dagster JSON metadata)."""
        return {self.KEY: self.model_dump(mode="json")}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Self | None:
        """The record a materialization carries (None: no materialization, or none of this)."""
        if not metadata:
            return None
        stored = metadata.get(cls.KEY)
        if stored is None:
            return cls.legacy(metadata)
        return cls.model_validate(stored)

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        """The record rebuilt from the display entries an earlier ct wrote (None: cannot)."""
        return None


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _count(value: Any) -> int:
    number = _number(value)
    return 0 if math.isnan(number) else int(number)


def _version(value: Any) -> str | None:
    return None if value in (None, "", NONE) else str(value)


def split_names(value: Any) -> list[str]:
    """Names a display entry or tag joined with commas ("none" or empty: no name)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [] if value in (None, "", NONE) else [s.strip() for s in str(value).split(",")]


class DriftSummary(StageRecord):
    """`feature_drift` of one partition: the share of monitored features that drifted against
    the champion's training partitions, and which."""

    KEY: ClassVar[str] = "ct_drift"

    share: float
    drifted: list[str] = []
    reference_partitions: list[str] = []
    # How the reference was chosen, or why nothing was compared.
    basis: str = ""
    # Features whose rank correlation with the others moved (their meaning may have changed).
    semantics_shifted: list[str] = []

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        if "drift_share" not in metadata:
            return None
        return cls(
            share=_number(metadata["drift_share"]),
            drifted=split_names(metadata.get("drifted_features")),
            basis=str(metadata.get("reference", "")),
        )


class LiveScore(StageRecord):
    """`champion_performance` of one partition: the champion as it stood before this
    partition's retrain, scored on its labeled rows against its holdout figure at promotion
    (and, while it bakes, the champion it replaced on the same rows), with the live checks'
    verdicts (True: failed; a check not judged did not fail)."""

    KEY: ClassVar[str] = "ct_live_score"

    metric: str
    rows: int
    champion_version: str | None
    previous_version: str | None = None
    baking: bool = False
    champion: float = math.nan
    previous: float = math.nan
    baseline: float = math.nan
    # Positive: worse, whichever way the metric points.
    worse_than_baseline_by: float = math.nan
    worse_than_previous_by: float = math.nan
    live_degraded: bool = False
    gap_exceeded: bool = False
    label_shifted: bool = False
    note: str = ""

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        metric = metadata.get("metric")
        if not metric:
            return None

        def flag(key: str) -> bool:
            return metadata.get(key) is True

        return cls(
            metric=str(metric),
            rows=_count(metadata.get("rows")),
            champion_version=_version(metadata.get("champion_version")),
            previous_version=_version(metadata.get("previous_version")),
            baking=bool(metadata.get("baking", False)),
            champion=_number(metadata.get(f"champion_{metric}")),
            previous=_number(metadata.get(f"previous_{metric}")),
            baseline=_number(metadata.get(f"baseline_{metric}")),
            worse_than_baseline_by=_number(metadata.get("worse_than_baseline_by")),
            worse_than_previous_by=_number(metadata.get("worse_than_previous_by")),
            live_degraded=flag("live_degraded"),
            gap_exceeded=flag("evaluation_gap_exceeded"),
            label_shifted=flag("label_shifted"),
            note=str(metadata.get("note", "")),
        )


class Registered(StageRecord):
    """`candidate_models` of one partition: the winner of the competition, registered."""

    KEY: ClassVar[str] = "ct_registered"

    version: str
    family: str
    # The candidate window it won on, and what it learnt from.
    window: str
    run_id: str
    # A retry (or the same training data again) handed back the version registered before.
    reused: bool = False
    training_partitions: list[str] = []
    batch_ids: list[str] = []
    feature_set_id: str = ""
    metric: str = ""
    holdout: float = math.nan

    @property
    def winner(self) -> str:
        return f"{self.family} on {self.window}"

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        version = _version(metadata.get("model_versions"))
        if version is None:
            return None
        family, _, window = str(metadata.get("winner", "")).partition(" on ")
        return cls(
            version=version,
            family=family,
            window=window,
            run_id=str(metadata.get("mlflow_run_ids", "")),
            reused=metadata.get("version_reused") is True,
            training_partitions=split_names(metadata.get("training_partitions")),
            batch_ids=split_names(metadata.get("batch_ids")),
            feature_set_id=str(metadata.get("feature_set_id", "")),
        )


PROMOTE, KEEP = "promote", "keep champion"


class Decided(StageRecord):
    """`production_model` of one partition: the promotion decision, the champion before and
    after it, and the primary metric of both on the holdout it was taken on."""

    KEY: ClassVar[str] = "ct_decision"

    decision: str
    reason: str
    champion_before: str | None
    champion_after: str | None
    metric: str
    candidate_version: str | None = None
    candidate_family: str | None = None
    candidate: float = math.nan
    champion: float = math.nan

    @property
    def promoted(self) -> bool:
        return self.decision == PROMOTE

    @property
    def serving_figure(self) -> float:
        """The holdout figure of the champion this decision left serving."""
        return self.candidate if self.promoted else self.champion

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        if "decision" not in metadata:
            return None
        metric = str(metadata.get("metric", ""))
        return cls(
            decision=str(metadata["decision"]),
            reason=str(metadata.get("reason", "")),
            champion_before=_version(metadata.get("champion_before")),
            champion_after=_version(metadata.get("champion_after")),
            metric=metric,
            candidate_version=_version(metadata.get("candidate_version")),
            candidate_family=_version(metadata.get("candidate_family")),
            candidate=_number(metadata.get(f"candidate_{metric}")),
            champion=_number(metadata.get(f"champion_{metric}")),
        )


class RawBatches(StageRecord):
    """`raw_batches` of one partition: every batch it holds, and those new in this run."""

    KEY: ClassVar[str] = "ct_raw"

    batch_ids: list[str]
    new_batch_ids: list[str] = []

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        if "batch_ids" not in metadata:
            return None
        return cls(
            batch_ids=split_names(metadata["batch_ids"]),
            new_batch_ids=split_names(metadata.get("new_batch_ids")),
        )


class ValidatedRows(StageRecord):
    """`validated_batches` of one partition: every row delivered is validated, set aside or in
    a batch refused whole (delivered = validated + set_aside + refused)."""

    KEY: ClassVar[str] = "ct_validated"

    validated: int
    delivered: int
    set_aside: int
    refused: int
    accepted_batch_ids: list[str] = []
    quarantined_batch_ids: list[str] = []

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        if "rows_delivered" not in metadata:
            return None
        return cls(
            validated=_count(metadata.get("dagster/row_count")),
            delivered=_count(metadata["rows_delivered"]),
            set_aside=_count(metadata.get("rows_set_aside")),
            refused=_count(metadata.get("rows_refused")),
            accepted_batch_ids=split_names(metadata.get("accepted_batch_ids")),
            quarantined_batch_ids=split_names(metadata.get("quarantined_batch_ids")),
        )


class FeatureRows(StageRecord):
    """`features` of one partition: its rows and how many held a category value outside the
    declared ones (encoded as unknown)."""

    KEY: ClassVar[str] = "ct_features"

    rows: int
    unseen_category_rows: int = 0

    @classmethod
    def legacy(cls, metadata: Mapping[str, Any]) -> Self | None:
        if "dagster/row_count" not in metadata:
            return None
        return cls(
            rows=_count(metadata["dagster/row_count"]),
            unseen_category_rows=_count(metadata.get("unseen_category_rows")),
        )


class Evaluated(StageRecord):
    """`model_evaluations` of one partition: the best candidate on the shared holdout and its
    primary metric (the full evaluation is the asset's value, `ml/contracts.py`)."""

    KEY: ClassVar[str] = "ct_evaluated"

    metric: str
    best_version: str
    best: float = math.nan
    champion_version: str | None = None
    holdout_rows: int = 0


__all__ = [
    "BATCH_IDS_TAG",
    "KEEP",
    "NONE",
    "PARTITION_TAG",
    "PROMOTE",
    "TRAINING_PARTITIONS_TAG",
    "Decided",
    "DriftSummary",
    "Evaluated",
    "FeatureRows",
    "LiveScore",
    "ModelLineage",
    "RawBatches",
    "Registered",
    "StageRecord",
    "ValidatedRows",
    "joined",
    "split_names",
]
