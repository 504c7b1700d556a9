"""The whole declaration, and the answers every stage asks of it."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from ct_assets.project.spec import task_defaults
from ct_assets.project.spec.base import Strict, Threshold
from ct_assets.project.spec.dataset import USUAL_POSITIVES, Column, Dataset, Task
from ct_assets.project.spec.features import Features
from ct_assets.project.spec.gates import Gates
from ct_assets.project.spec.monitoring import DIMENSIONS_BY_TASK, Drift, Freshness, Quality
from ct_assets.project.spec.operations import Runs, ServingSettings
from ct_assets.project.spec.partitions import Partitions
from ct_assets.project.spec.policy import Policy
from ct_assets.project.spec.rules import check_project
from ct_assets.project.spec.sources import Sources
from ct_assets.project.spec.training import Training


class ProjectSpec(Strict):
    """The whole declaration; sections other than dataset and task have defaults."""

    name: str = Field(
        default="ct",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="The project's name: letters, digits, _ . and -, starting with a letter or "
        "digit.",
    )
    registered_model: str | None = Field(
        default=None,
        description="The MLflow registered model whose champion alias serves; unset: the "
        "project's name.",
    )
    environment: Literal["local", "production"] = Field(
        default="local",
        description="local: everything on this machine (SQLite, files under .ct); production: "
        "PostgreSQL, object storage, an MLflow server (see Environments).",
    )
    dataset: Dataset = Field(
        description="The data as each file delivers it: columns, types, checks, roles, format."
    )
    task: Task = Field(description="What to predict, and the metric that ranks candidates.")
    features: Features = Field(
        description="What a model reads: declared columns, transforms of a row, window features."
    )
    partitions: Partitions = Field(
        default=Partitions(), description="How events fall into partitions by time."
    )
    training: Training = Field(
        default=Training(),
        description="The training window, the split, the families and candidate windows, the "
        "search and feature selection.",
    )
    gates: Gates = Field(
        default=Gates(), description="What a candidate must clear to replace the champion."
    )
    quality: Quality = Field(
        default=Quality(),
        description="What refuses a file or sets its rows aside, and the data-quality "
        "dimensions' thresholds.",
    )
    drift: Drift = Field(default=Drift(), description="When a feature and a partition drift.")
    freshness: Freshness = Field(
        default=Freshness(), description="How long without a new file or a new model decision."
    )
    sources: Sources = Field(
        default=Sources(),
        description="The landing folder, the pulled sources (their secrets named by "
        "environment variable, never written here) and a Dagster asset of your own.",
    )
    serving: ServingSettings = Field(
        default=ServingSettings(), description="ct serve: where it listens and what it answers."
    )
    policy: Policy = Field(
        default=Policy(),
        description="When a retrain runs, a new champion's probation, and when it is rolled back.",
    )
    runs: Runs = Field(
        default=Runs(),
        description="How many runs the production instance's queue lets go at once.",
    )

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: Any) -> Any:
        """Defaults that depend on the task (margins in the metric's own scale, floors of its
        metrics), from `task_defaults.py`."""
        return task_defaults.for_task(data) if isinstance(data, dict) else data

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
        for usual in USUAL_POSITIVES:
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

    # Filled by the task's defaults before validation; a copy made with other sections (say
    # `model_copy(update=...)`) falls back to them too.
    @property
    def floors(self) -> list[str]:
        return self._gates.floors or []

    @property
    def margin(self) -> Threshold:
        assert self._gates.margin is not None  # every task has a default
        return self._gates.margin

    @property
    def slice_tolerance(self) -> Threshold:
        assert self._gates.slices.tolerance is not None  # every task has a default
        return self._gates.slices.tolerance

    @property
    def _gates(self) -> Gates:
        defaults = task_defaults.TASK_DEFAULTS[self.task.type]["gates"]
        declared = self.gates.model_dump(exclude_unset=True, exclude_none=True)
        return Gates.model_validate(task_defaults.with_defaults(declared, defaults))

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
