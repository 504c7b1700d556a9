"""The candidates' competition: every family on every candidate window, scored on one holdout.

After an abrupt change the rows since the change are the only ones that describe the world; in
steady state the longest window has the most to learn from. Neither can be known in advance,
so each family is trained on each window (`windows.training_subsets`) and all of them are
scored on the same newest holdout: the short window wins after a change, the long one in steady
state. Training is cheap (LightGBM fits 20k rows in well under a second); registering a model
is not, so only the winner is registered (the caller's business) and the rest is a table.

A family that raises is recorded with its error and the others go on: one library's failure
on one window must not leave a project without a retrain. Pure apart from the training code
it calls; nothing here talks to MLflow or Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ct_assets.ml.frames import LABEL
from ct_assets.ml.vocabulary import METRIC
from ct_assets.ml.windows import Subset

if TYPE_CHECKING:
    from ct_assets.ml.families import TrainedModel

# Trains one family on some rows and their labels.
Fit = Callable[[str, pd.DataFrame, pd.Series], "TrainedModel"]
# A trained model's predictions of a frame.
Predict = Callable[["TrainedModel", pd.DataFrame], np.ndarray]
# The task's metrics of predictions against labels.
Score = Callable[[np.ndarray, np.ndarray], dict[str, float]]


@dataclass
class Contender:
    """One family trained on one window, as it scored on the holdout (or why it failed)."""

    family: str
    window: str
    partitions: tuple[str, ...]
    rows: int
    trained: TrainedModel | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.trained is not None

    def value(self, metric: str) -> float:
        return self.metrics.get(metric, float("nan"))

    def row(self, metric: str) -> dict[str, Any]:
        span = (
            self.partitions[0]
            if len(self.partitions) == 1
            else f"{self.partitions[0]} .. {self.partitions[-1]}"
            if self.partitions
            else ""
        )
        return {
            "family": self.family,
            "window": self.window,
            "partitions": span,
            "train_rows": self.rows,
            f"holdout_{metric}": round(self.value(metric), 5) if self.ok else None,
            "error": self.error or "",
        }


def describe_error(exc: BaseException) -> str:
    """An exception as one line: its type and message, bounded (it lands in metadata)."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text[:300]}"


def contend(
    family: str,
    window: str,
    partitions: tuple[str, ...],
    rows: int,
    train: Callable[[], TrainedModel],
    holdout: pd.DataFrame,
    predict: Predict,
    score: Score,
) -> Contender:
    """Train one contender and score it on the holdout; an exception is its result."""
    contender = Contender(family, window, partitions, rows)
    try:
        contender.trained = train()
        predicted = predict(contender.trained, holdout)
        contender.metrics = score(holdout[LABEL].to_numpy(), predicted)
    except Exception as exc:  # any family's failure is recorded, not raised
        contender.trained = None
        contender.error = describe_error(exc)
    return contender


def compete(
    families: Sequence[str],
    subsets: Sequence[Subset],
    train: pd.DataFrame,
    labels: pd.Series,
    holdout: pd.DataFrame,
    fit: Fit,
    predict: Predict,
    score: Score,
) -> list[Contender]:
    """Every family on every window, scored on the same holdout."""
    out = []
    for family in families:
        for subset in subsets:
            rows, their = train[subset.rows], labels[subset.rows]

            def trained(f: str = family, r: pd.DataFrame = rows, y: pd.Series = their) -> Any:
                return fit(f, r, y)

            out.append(
                contend(
                    family,
                    subset.name,
                    subset.partitions,
                    subset.size,
                    trained,
                    holdout,
                    predict,
                    score,
                )
            )
    return out


def winner(contenders: Sequence[Contender], metric: str) -> Contender | None:
    """The best contender in the primary metric, whichever way it points; on a tie, the one
    trained on more rows (the steadier of two equal scores)."""
    scored = [c for c in contenders if c.ok and np.isfinite(c.value(metric))]
    if not scored:
        return None
    sign = 1.0 if METRIC[metric].higher_is_better else -1.0
    return max(scored, key=lambda c: (sign * c.value(metric), c.rows))


def failures(contenders: Sequence[Contender]) -> dict[str, str]:
    """Family -> the first error it raised, for the families that failed on some window."""
    out: dict[str, str] = {}
    for c in contenders:
        if c.error is not None:
            out.setdefault(c.family, f"{c.window}: {c.error}")
    return out


def table(contenders: Sequence[Contender], metric: str, chosen: Contender | None) -> pd.DataFrame:
    rows = [
        {**c.row(metric), "registered": c is chosen}
        for c in sorted(contenders, key=lambda c: (c.family, -c.rows))
    ]
    return pd.DataFrame(rows)
