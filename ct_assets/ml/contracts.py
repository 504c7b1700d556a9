"""What the evaluation hands to the promotion decision: a typed record, stored as JSON.

`model_evaluations` writes an `Evaluation`; `production_model` reads one back (the JSON IO
manager validates it against this model), so a field renamed on one side fails loudly on load
instead of reading as a missing key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ct_assets.ml.vocabulary import METRIC


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Gain(Record):
    """A candidate's improvement over the champion in the primary metric (positive: better),
    and its paired-bootstrap interval."""

    gain: float
    lower: float
    upper: float
    resamples: int


class Scored(Record):
    """A model as evaluated on the holdout: its metrics, its slices, and for a candidate the
    bootstrap interval of its improvement over the champion."""

    version: str
    family: str
    mode: str = "full"
    metrics: dict[str, float]
    slices: list[dict[str, Any]] = []
    gain: Gain | None = None

    @property
    def label(self) -> str:
        return f"v{self.version} ({self.family})"

    def value(self, metric: str) -> float:
        return self.metrics[metric]


class Incomparable(Record):
    """A champion that cannot be scored on these features (another feature set)."""

    version: str
    reason: str


class ServingCheck(Record):
    """The infrastructure gate's fresh process, as it judged the best candidate."""

    version: str
    passed: bool
    reason: str
    figures: dict[str, Any] = {}


class Evaluation(Record):
    task: str
    metric: str
    feature_set_id: str
    holdout_rows: int
    candidates: list[Scored]
    champion: Scored | None = None
    champion_incomparable: Incomparable | None = None
    serving: ServingCheck | None = None
    mlflow_run_id: str | None = None

    def best(self) -> Scored:
        """The best candidate in the primary metric, whichever way it points."""
        if not self.candidates:
            raise ValueError("no candidate was evaluated")
        sign = 1.0 if METRIC[self.metric].higher_is_better else -1.0
        return max(self.candidates, key=lambda c: sign * c.value(self.metric))

    @property
    def evaluated_champion(self) -> str | None:
        """The champion version the evaluation compared against (or could not)."""
        if self.champion is not None:
            return self.champion.version
        return self.champion_incomparable.version if self.champion_incomparable else None
