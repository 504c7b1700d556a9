"""`serving` and `runs`: where `ct serve` listens and what it answers, and the run queue."""

from __future__ import annotations

from pydantic import Field, field_validator

from ct_assets.project.spec.base import Duration, Strict, duration_text


class ServingSettings(Strict):
    """`ct serve`: where it listens, what a request may hold, how traffic is routed."""

    host: str = Field(
        default="127.0.0.1",
        description="The address ct serve listens on (127.0.0.1: this machine only).",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="The port ct serve listens on.")
    max_batch_rows: int = Field(
        default=1000,
        ge=1,
        description="Rows per request; a larger batch is refused (413) rather than stalling "
        "every other client.",
    )
    latency_budget_ms: float = Field(
        default=50.0,
        gt=0,
        description="Past this many milliseconds, the previous champion answers the request "
        "and the event is counted.",
    )
    reload_interval: Duration = Field(
        default="2s",
        description="How often the registry is asked whether the champion alias moved (hot swap).",
    )
    canary_fraction: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="The share of requests a new champion answers during its baking period "
        "(the rest: the one it replaced); 1.0 sends it everything at once.",
    )
    shadow: bool = Field(
        default=True,
        description="Score the registry's challenger (the best refused candidate) beside the "
        "champion: logged, never returned.",
    )
    labels_folder: str = Field(
        default="labels",
        description="Where delayed labels of served predictions land, inside the landing "
        "folder: files with the request id and the label, joined to the prediction log by id.",
    )

    _r = field_validator("reload_interval")(classmethod(lambda cls, v: duration_text(v)))


class Runs(Strict):
    """How many runs the production instance's queue lets go at once (rendered into its
    dagster.yaml): in all, of runs that train candidates, of backfill runs."""

    max_concurrent: int = Field(
        default=4, ge=1, description="Runs the production queue lets go at once, in all."
    )
    training: int = Field(default=1, ge=1, description="Runs that train candidates let go at once.")
    backfills: int = Field(default=2, ge=1, description="Backfill runs let go at once.")
