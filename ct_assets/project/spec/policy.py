"""`policy`: when a retrain runs, a new champion's probation, and when it is rolled back."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from ct_assets.project.spec.base import Strict, Threshold
from ct_assets.project.spec.task_defaults import for_task

RetrainTrigger = Literal["every_partition", "drift", "performance", "schedule"]
RETRAIN_TRIGGERS: tuple[str, ...] = get_args(RetrainTrigger)


class Retrain(Strict):
    """When a retrain runs: any of the triggers listed (not `on:`, which YAML reads as true)."""

    triggers: list[RetrainTrigger] = ["every_partition"]
    # `drift`: the share of drifted features of a new partition at or above this.
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    # `performance`: the champion's live metric on a new labeled partition worse than its
    # holdout metric at promotion by more than this (a number, or "5%" of the baseline).
    performance_margin: Threshold = Threshold(value=0.05)
    # `schedule`: a cron expression (UTC), e.g. "0 3 * * *".
    schedule: str | None = None

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

    partitions: int = Field(default=2, ge=1)
    requests: int = Field(default=1000, ge=1)


class Rollback(Strict):
    """Move the champion back when, in its baking period, it does worse live than the one it
    replaced by more than `margin`, over at least `min_partitions` partitions or
    `min_requests` labeled served requests."""

    enabled: bool = True
    margin: Threshold = Threshold(value=0.02)
    min_partitions: int = Field(default=1, ge=1)
    min_requests: int = Field(default=200, ge=1)
    baking: Baking = Baking()
    # A champion whose first live partitions miss its holdout figure by more than
    # `policy.evaluation_gap` goes back to the one it replaced when that one did better on the
    # same rows, by any amount: the evaluation that promoted it did not predict production.
    on_evaluation_gap: bool = True


class Policy(Strict):
    retrain: Retrain = Retrain()
    rollback: Rollback = Rollback()
    # How far a champion's live metric on its first live partitions (its baking period) may
    # fall short of its holdout figure before the evaluation is judged not to predict live (a
    # number, or "10%" of the holdout figure): a failed check, an alert naming the likely
    # cause, and by `rollback.on_evaluation_gap` a rollback.
    evaluation_gap: Threshold = Threshold(value=0.05)
    # A label rate (binary) or mean (regression) that moved this far from the champion's
    # training rows is flagged as a prior shift: Cohen's h for a rate, the difference in
    # training standard deviations for a mean (0.2 is a small effect in both).
    label_shift: float = Field(default=0.2, gt=0.0)


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
