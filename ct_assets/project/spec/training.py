"""`training`: the window, the split, the families and the candidate windows, the search and
feature selection."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ct_assets.ml import families as model_families
from ct_assets.ml.split_strategies import BUILT_IN, CUSTOM
from ct_assets.project.spec.base import Duration, Strict, did_you_mean, duration_text


class Search(Strict):
    trials: int = Field(
        default=0,
        ge=0,
        description="Trials of the LightGBM hyperparameter search; 0: no search, the defaults.",
    )
    timeout: Duration = Field(default="300s", description="The search's time budget.")

    _t = field_validator("timeout")(classmethod(lambda cls, v: duration_text(v)))


class Selection(Strict):
    enabled: bool = Field(
        default=True,
        description="Off: every feature is kept (the leak guards still apply: they are not "
        "pruning).",
    )
    near_constant_share: float = Field(
        default=0.995,
        gt=0.0,
        le=1.0,
        description="A feature whose most frequent value covers at least this share of the "
        "training rows is left out as near-constant.",
    )
    max_null_share: float = Field(
        default=0.95,
        gt=0.0,
        le=1.0,
        description="A feature null in more than this share of the training rows is left out.",
    )
    top_k: int = Field(
        default=0,
        ge=0,
        description="Keep only the K features of highest LightGBM gain on the training rows; "
        "0 keeps all.",
    )
    # The leak guards apply whatever `enabled` says: a feature that names the partition
    # (constant within each partition, its holdout values seen in at most one training
    # partition) and a copy of the label are left out too.
    max_single_feature_score: float = Field(
        default=0.995,
        gt=0.5,
        le=1.0,
        description="Leak guard: a feature that alone scores at least this on the holdout (ROC "
        "AUC, or R² for regression) is left out, with the reason.",
    )
    force: list[str] = Field(
        default=[],
        description="Features kept past every rule above, each with a warning of what it risks.",
    )


class Training(Strict):
    window: int = Field(
        default=7, ge=1, description="Each run trains on the last this many partitions."
    )
    # A stream at 10k events/s fills a 5-minute partition with 3M rows.
    max_rows: int | None = Field(
        default=None,
        ge=100,
        description="At most this many rows of the window are trained and held out on, drawn "
        "uniformly (seeded by seed) when it holds more; unset: every row.",
    )
    holdout_fraction: float = Field(
        default=0.2,
        gt=0.0,
        lt=1.0,
        description="The share of the window's rows held out to evaluate candidates on.",
    )
    split: str = Field(
        default="time",
        description=f"How the holdout is cut from the window: one of {', '.join(BUILT_IN)} "
        f"(time: the latest rows), or {CUSTOM}module:function.",
    )
    seed: int = Field(
        default=0, description="The seed of random holdout cuts and of the max_rows draw."
    )
    # A family added later is opt-in: the default is every family registered `by_default`.
    families: list[str] = Field(
        default_factory=lambda: list(model_families.defaults()),
        description="The model families trained as candidates, some of "
        f"{', '.join(model_families.names())}.",
    )
    incremental_rounds: int = Field(
        default=30, ge=1, description="Trees added to the champion by an incremental refresh."
    )
    full_retrain_every: int = Field(
        default=7,
        ge=1,
        description="At most this many incremental refreshes in a row before a full retrain.",
    )
    search: Search = Field(default=Search(), description="The hyperparameter search.")
    selection: Selection = Field(
        default=Selection(),
        description="Feature selection on the training rows, and the leak guards.",
    )
    windows: list[int | Literal["since_change"]] | None = Field(
        default=None,
        description="The windows candidates are trained on, in partitions ending at the newest "
        "training row, and since_change (since the champion's live performance broke); all "
        "compete on the same holdout. Unset: 1, 3 and window partitions, and since_change.",
    )

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str) -> str:
        if value not in BUILT_IN and not value.startswith(CUSTOM):
            raise ValueError(
                f"{value!r}: expected one of {', '.join(BUILT_IN)} or {CUSTOM}module:function"
            )
        return value

    @field_validator("families")
    @classmethod
    def _known_families(cls, values: list[str]) -> list[str]:
        known = model_families.names()
        unknown = [v for v in values if v not in known]
        if unknown or not values:
            raise ValueError(
                f"{unknown or 'none'}: expected some of {', '.join(known)}"
                + "".join(did_you_mean(u, known) for u in unknown)
            )
        return values

    @model_validator(mode="after")
    def _windows_fit(self) -> Training:
        if self.windows is None:
            return self
        if not self.windows:
            raise ValueError("windows: name at least one, e.g. [1, 3, 7, since_change]")
        below = [w for w in self.windows if isinstance(w, int) and w < 1]
        if below:
            raise ValueError(f"windows: {below}: a candidate window holds at least 1 partition")
        return self

    @property
    def candidate_windows(self) -> tuple[int | str, ...]:
        """The windows candidates compete on, in declaration order, each once."""
        # By default 1 and 3 partitions (they recover fast from an abrupt change), the whole
        # window (what steady state wants), and since_change. A count above `window` is the
        # whole window: a shorter window declared later leaves the list valid.
        declared = self.windows if self.windows is not None else (1, 3, self.window, SINCE_CHANGE)
        sizes = [min(w, self.window) if isinstance(w, int) else w for w in declared]
        return tuple(dict.fromkeys(sizes))


SINCE_CHANGE = "since_change"
