"""`policy`: when a retrain runs, a new champion's probation, and when it is rolled back."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ct_assets.project.spec.base import Strict, Threshold, Words
from ct_assets.project.spec.task_defaults import for_task

RetrainTrigger = Literal["every_partition", "drift", "performance", "schedule"]
RETRAIN_TRIGGERS: tuple[str, ...] = get_args(RetrainTrigger)
# Text checked by `_check_cron`: five fields, or @daily, @hourly, ...
Cron = Annotated[str, Words("cron expression")]


class Retrain(Strict):
    """When a retrain runs: any of the triggers listed (not `on:`, which YAML reads as true)."""

    triggers: list[RetrainTrigger] = Field(
        default=["every_partition"],
        description="What starts a retrain, any of: every new partition, drift of a new "
        "partition, the champion's live performance, a schedule.",
    )
    drift_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="drift: retrain when the share of drifted features of a new partition is "
        "at or above this.",
    )
    performance_margin: Threshold = Field(
        default=Threshold(value=0.05),
        description="performance: retrain when the champion's live metric on a new labeled "
        "partition is worse than its holdout metric by more than this (a number, or a "
        "percentage of it); the default depends on the task.",
    )
    schedule: Cron | None = Field(
        default=None,
        description="schedule: when to retrain, a five-field cron expression in UTC, e.g. "
        "0 3 * * * (03:00 every day).",
    )

    @model_validator(mode="after")
    def _schedule_given(self) -> Retrain:
        if "schedule" in self.triggers and not self.schedule:
            raise ValueError("triggers: schedule needs policy.retrain.schedule, e.g. '0 3 * * *'")
        if self.schedule is not None:
            _check_cron(self.schedule)
        if not self.triggers:
            raise ValueError("triggers: name at least one of " + ", ".join(RETRAIN_TRIGGERS))
        return self


class Baking(Strict):
    """How long a newly promoted champion is on probation (either bound ends it)."""

    partitions: int = Field(
        default=2, ge=1, description="Probation ends after this many live partitions."
    )
    requests: int = Field(
        default=1000, ge=1, description="Probation ends after this many served requests."
    )


class Rollback(Strict):
    """Move the champion back when, in its baking period, it does worse live than the one it
    replaced by more than `margin`, over at least `min_partitions` partitions or
    `min_requests` labeled served requests."""

    enabled: bool = Field(default=True, description="Whether a champion is ever rolled back.")
    margin: Threshold = Field(
        default=Threshold(value=0.02),
        description="Roll back when the champion does worse live than the one it replaced by "
        "more than this (a number, or a percentage); the default depends on the task.",
    )
    min_partitions: int = Field(
        default=1,
        ge=1,
        description="The fewest live labeled partitions the comparison is made on.",
    )
    min_requests: int = Field(
        default=200,
        ge=1,
        description="Or the fewest labeled served requests of each version it is made on.",
    )
    baking: Baking = Field(
        default=Baking(),
        description="How long a newly promoted champion is on probation (either bound ends it).",
    )
    on_evaluation_gap: bool = Field(
        default=True,
        description="A champion whose first live partitions miss its holdout figure by more "
        "than policy.evaluation_gap goes back to the one it replaced when that one did better "
        "on the same rows, by any amount.",
    )


class Policy(Strict):
    retrain: Retrain = Field(default=Retrain(), description="When a retrain runs.")
    rollback: Rollback = Field(
        default=Rollback(), description="When a new champion is moved back to the one it replaced."
    )
    evaluation_gap: Threshold = Field(
        default=Threshold(value=0.05),
        description="How far a champion's metric on its first live partitions may fall short of "
        "its holdout figure (a number, or a percentage of it) before an alert says the "
        "evaluation does not predict live; the default depends on the task.",
    )
    label_shift: float = Field(
        default=0.2,
        gt=0.0,
        description="A label rate (binary) or mean (regression) that moved this far from the "
        "champion's training rows is flagged as a prior shift: Cohen's h for a rate, training "
        "standard deviations for a mean (0.2 is a small effect in both).",
    )


def default_policy(task: str) -> Policy:
    """The policy in force for a task when ct.yaml declares none."""
    return Policy.model_validate(for_task({"task": task, "policy": {}})["policy"])


def _check_cron(expression: str) -> None:
    # croniter parses it (Dagster schedules with the same library, vendored); Dagster takes
    # five fields only, no seconds.
    from croniter import croniter

    fields = expression.startswith("@") or len(expression.split()) == 5  # @daily, @hourly
    if not fields or not croniter.is_valid(expression):
        raise ValueError(
            f"schedule {expression!r} is not a cron expression: five fields, minute hour "
            "day-of-month month day-of-week, e.g. '0 3 * * *' (03:00 UTC every day)"
        )
