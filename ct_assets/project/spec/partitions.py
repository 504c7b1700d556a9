"""`partitions`: how events fall into partitions by time, and what one granularity is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from ct_assets.project.spec.base import Strict

Granularity = Literal["5-minute", "15-minute", "hourly", "daily", "weekly"]
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)


@dataclass(frozen=True)
class Period:
    """What one granularity of partitions is: every place that needs a partition's length, its
    Dagster cron and key format, or where keys fall, reads it here."""

    length: timedelta
    cron: str
    key_format: str
    # Partitions are `length` apart from this moment (UTC): weekly ones start on Sundays.
    anchor: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    def begin(self, moment: datetime) -> datetime:
        """Where the partition holding `moment` begins (UTC)."""
        elapsed = moment.astimezone(UTC) - self.anchor
        return self.anchor + (elapsed // self.length) * self.length

    def key_at(self, moment: datetime) -> str:
        """The key of the partition holding `moment`, spelled as Dagster spells it."""
        return self.begin(moment).strftime(self.key_format)

    @property
    def sub_daily(self) -> bool:
        return self.length < timedelta(days=1)


_MINUTES = "%Y-%m-%d-%H:%M"
PERIODS: dict[str, Period] = {
    "5-minute": Period(timedelta(minutes=5), "*/5 * * * *", _MINUTES),
    "15-minute": Period(timedelta(minutes=15), "*/15 * * * *", _MINUTES),
    "hourly": Period(timedelta(hours=1), "0 * * * *", _MINUTES),
    "daily": Period(timedelta(days=1), "0 0 * * *", "%Y-%m-%d"),
    "weekly": Period(
        timedelta(days=7), "0 0 * * 0", "%Y-%m-%d", anchor=datetime(1970, 1, 4, tzinfo=UTC)
    ),
}


class Partitions(Strict):
    granularity: Granularity = Field(
        default="daily",
        description="How long one partition of events is; an event falls in one by its event time.",
    )
    start: str = Field(
        default="2026-01-01",
        description="The first partition: a date, or for partitions shorter than a day a UTC "
        "time where one begins (2026-01-01T09:15 for 15-minute partitions).",
    )

    @field_validator("start")
    @classmethod
    def _a_date(cls, value: str) -> str:
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date such as 2026-01-01 (or a time: 2026-01-01T09:15)"
            ) from None
        return str(value)

    @model_validator(mode="after")
    def _start_on_a_boundary(self) -> Partitions:
        # A date is taken as Dagster takes it: partitions begin at the first boundary from it
        # (weekly ones on the Sunday after). A time must be a boundary itself.
        timed = len(self.start) > len("2026-01-01")
        if timed and self.period.begin(self.start_time) != self.start_time:
            raise ValueError(
                f"start {self.start!r} is not where a {self.granularity} partition begins"
            )
        return self

    @property
    def period(self) -> Period:
        return PERIODS[self.granularity]

    @property
    def start_time(self) -> datetime:
        """The first partition's beginning, in UTC."""
        moment = datetime.fromisoformat(self.start)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
