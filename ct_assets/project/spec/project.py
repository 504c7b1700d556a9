"""The whole declaration, and the answers every stage asks of it."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from ct_assets.ml.vocabulary import (
    BINARY,
    REGRESSION,
)
from ct_assets.project.spec.base import Strict, Threshold
from ct_assets.project.spec.dataset import Column, Dataset, Task
from ct_assets.project.spec.features import Features
from ct_assets.project.spec.gates import Gates
from ct_assets.project.spec.monitoring import DIMENSIONS_BY_TASK, Drift, Freshness, Quality
from ct_assets.project.spec.operations import Runs, Server
from ct_assets.project.spec.partitions import Partitions
from ct_assets.project.spec.policy import Policy, with_task_margins
from ct_assets.project.spec.rules import check_project
from ct_assets.project.spec.sources import Sources
from ct_assets.project.spec.training import Training


class ProjectSpec(Strict):
    """The whole declaration; sections other than dataset and task have defaults."""

    name: str = Field(default="ct", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # The MLflow registered model whose `champion` alias serves (default: the project name).
    registered_model: str | None = None
    environment: Literal["local", "production"] = "local"
    dataset: Dataset
    task: Task
    features: Features
    partitions: Partitions = Partitions()
    training: Training = Training()
    gates: Gates = Gates()
    quality: Quality = Quality()
    drift: Drift = Drift()
    freshness: Freshness = Freshness()
    sources: Sources = Sources()
    serving: Server = Server()
    policy: Policy = Policy()
    runs: Runs = Runs()

    @model_validator(mode="before")
    @classmethod
    def _margins_for_the_task(cls, data: Any) -> Any:
        """Policy margins not declared are in the metric's own scale: absolute for binary
        metrics (ROC AUC is 0-1 everywhere), a share of the baseline for regression (an RMSE
        is in the label's units)."""
        if not isinstance(data, dict) or not isinstance(data.get("task"), dict):
            return data
        if data["task"].get("type") != REGRESSION:
            return data
        return {**data, "policy": with_task_margins(data.get("policy") or {})}

    @model_validator(mode="after")
    def _consistent(self) -> ProjectSpec:
        check_project(self)
        return self

    # -- answers the stages ask for ------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.registered_model or self.name

    @property
    def metric(self) -> str:
        return self.task.primary

    @property
    def positive(self) -> str:
        """The binary label's positive value, as text."""
        if self.task.positive is not None:
            return self.task.positive
        values = self.dataset.label_values() or []
        for usual in ("1", "true", "1.0", "yes", "y", "positive", "pos"):
            if usual in values:
                return usual
        return values[-1]

    @property
    def negative(self) -> str:
        return next(v for v in self.dataset.label_values() or [] if v != self.positive)

    def column(self, name: str) -> Column:
        return self.dataset.columns[name]

    @property
    def categorical_inputs(self) -> tuple[str, ...]:
        return tuple(c for c in self.features.columns if self.column(c).type == "category")

    @property
    def window_features(self) -> tuple[tuple[str, str, str], ...]:
        """(column, aggregation, window) of every window feature, in declaration order."""
        return tuple(
            (group.column, aggregation, window)
            for group in self.features.windows.aggregates
            for window in group.windows
            for aggregation in group.aggregations
        )

    @property
    def row_features(self) -> tuple[str, ...]:
        """Features of the event alone: declared columns as they are, then transforms."""
        return (*self.features.columns, *(t.name for t in self.features.transforms))

    @property
    def feature_names(self) -> tuple[str, ...]:
        windows = tuple(f"{c}_{a}_{w}" for c, a, w in self.window_features)
        return (*self.row_features, *windows)

    @property
    def numeric_inputs(self) -> tuple[str, ...]:
        return tuple(f for f in self.feature_names if f not in self.categorical_inputs)

    @property
    def slice_columns(self) -> tuple[str, ...]:
        return tuple(self.gates.slices.columns)

    @property
    def floors(self) -> list[str]:
        if self.gates.floors is not None:
            return self.gates.floors
        return ["roc_auc >= 0.6"] if self.task.type == BINARY else ["r2 >= 0"]

    @property
    def margin(self) -> Threshold:
        if self.gates.margin is not None:
            return self.gates.margin
        return Threshold(value=0.01, relative=self.task.type == REGRESSION)

    @property
    def slice_tolerance(self) -> Threshold:
        if self.gates.slices.tolerance is not None:
            return self.gates.slices.tolerance
        if self.task.type == BINARY:
            return Threshold(value=0.05)
        return Threshold(value=0.1, relative=True)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return DIMENSIONS_BY_TASK[self.task.type]

    @property
    def blocking(self) -> frozenset[str]:
        if self.quality.blocking is not None:
            return frozenset(self.quality.blocking)
        return frozenset({"uniqueness", self.dimensions[-1]})

    @property
    def calendar_features(self) -> tuple[str, ...]:
        """Features read off the calendar (an hour, a day of week): with partitions by time,
        they can name a partition instead of carrying a pattern."""
        return tuple(t.name for t in self.features.transforms if t.calendar)

    @property
    def drift_excluded(self) -> dict[str, str]:
        """Features left out of drift, with why: declared, or constant within a partition."""
        out = {name: "declared in drift.exclude" for name in self.drift.exclude}
        for t in self.features.transforms:
            if t.constant_within(self.partitions.period.length):
                out.setdefault(
                    t.name,
                    f"{t.op} is nearly constant within a {self.partitions.granularity} "
                    "partition: it would drift every time",
                )
        return out

    def feature_set_id(self, code_version: str) -> str:
        """A short hash of the features section, the dataset columns it reads, and the code."""
        used = sorted(self._columns_read())
        canonical = json.dumps(
            {
                "features": self.features.model_dump(mode="json"),
                "columns": {c: self.column(c).model_dump(mode="json") for c in used},
                "roles": self.dataset.roles.model_dump(mode="json"),
                "code_version": code_version,
            },
            sort_keys=True,
        )
        return "fs-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def _columns_read(self) -> set[str]:
        read = set(self.features.columns)
        for t in self.features.transforms:
            read.update(t.sources)
        read.update(g.column for g in self.features.windows.aggregates)
        return read
