"""What a model family is: the protocol every family module implements, and the records it
trades with the stages (`Inputs` in, `TrainedModel` out).

Light on purpose: the code location imports every family at load (to check `training.families`
and list the choices), while LightGBM and scikit-learn are imported only by the methods that
train, predict, log or load.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ct_assets.ml.hpo import SearchBudget, TrialLog


@dataclass(frozen=True)
class Inputs:
    """What a model reads: the features in order, which of them are category codes, the task."""

    task: str
    features: tuple[str, ...]
    categorical: tuple[str, ...] = ()

    def only(self, kept: Sequence[str]) -> Inputs:
        return Inputs(
            self.task,
            tuple(f for f in self.features if f in kept),
            tuple(c for c in self.categorical if c in kept),
        )

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if f not in self.categorical)


@dataclass
class TrainedModel:
    family: str
    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    # Tags the family adds to the run and version (an incremental model names its base).
    tags: dict[str, str] = field(default_factory=dict)


class Family(ABC):
    """One kind of model ct can train, log, load and serve.

    Binary: `predict` gives the probability of the positive class; regression: the value. A
    family trains one model per task (a new task means a model per family).
    """

    # The name `training.families` and the `ct.family` tag of a version use.
    name: ClassVar[str]
    # One line for `ct init` and the docs.
    description: ClassVar[str]
    # Trained by projects that do not list their families. A family added later is opt-in: it
    # trains only where a project names it, so upgrading ct changes no project's candidates.
    by_default: ClassVar[bool] = False
    # Where it sits in the default list and in tables (lower first).
    rank: ClassVar[int] = 100
    # What a logged model needs wherever it is served, pinned to what trained it.
    packages: ClassVar[tuple[str, ...]]
    # The serving platform reported by the inference protocol's metadata.
    platform: ClassVar[str]
    # The Dagster kind the candidates asset shows for it (an icon in the UI).
    kind: ClassVar[str]
    # `training.search` tunes it (`search`, on the longest window).
    searchable: ClassVar[bool] = False
    # It continues the champion on unseen rows where it can (`ml.incremental`), else trains
    # from scratch under its own name; then it is the same model as `restarts_as` (a family
    # whose candidates, when also trained, are that retrain already).
    continues_champion: ClassVar[bool] = False
    restarts_as: ClassVar[str | None] = None

    @abstractmethod
    def train(self, rows: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
        """A model fitted from scratch on `rows` and `labels`."""

    @abstractmethod
    def features(self, model: Any) -> list[str]:
        """The columns a trained model reads, in order: its serving contract (and signature)."""

    @abstractmethod
    def predict(self, model: Any, frame: pd.DataFrame) -> np.ndarray:
        """Scores of a frame holding at least `features(model)`."""

    @abstractmethod
    def predict_matrix(
        self, model: Any, matrix: np.ndarray, features: Sequence[str], categorical: Sequence[str]
    ) -> np.ndarray:
        """Scores of a 2-D float array whose columns are `features`, in order (serving's path:
        a request's rows, with no frame to build unless the model needs one)."""

    def search(
        self,
        rows: pd.DataFrame,
        labels: pd.Series,
        inputs: Inputs,
        budget: SearchBudget,
        on_trial: TrialLog,
        metric: str,
    ) -> TrainedModel:
        """The model with the best parameters a bounded search found (each trial reported to
        `on_trial`), its `ct.search_trials` and `ct.search_best_value` tags set. Only for a
        family that is `searchable`."""
        raise NotImplementedError(f"model family {self.name} has no parameter search")

    def importance(self, model: Any) -> dict[str, float] | None:
        """What the model learnt to lean on by its own measure (None: it has none, and a
        permutation importance is computed instead)."""
        return None

    @abstractmethod
    def log(self, model: Any, **common: Any) -> Any:
        """Log the model to the active MLflow run (`common`: name, signature, input example);
        MLflow's ModelInfo."""

    @abstractmethod
    def load(self, uri: str) -> Any:
        """The native model (not a pyfunc: that adds ~1.5 ms a call) logged at `uri`."""

    def requirements(self) -> list[str]:
        """`packages` pinned to the installed versions. Left to infer, MLflow exports the whole
        uv project (~180 packages, Dagster and Evidently among them) into every model."""
        return [f"{name}=={installed_version(name)}" for name in self.packages]
