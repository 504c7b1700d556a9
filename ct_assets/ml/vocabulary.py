"""The names settings are checked against: tasks, metrics and their direction.

Kept apart from the modules that train and score (LightGBM, scikit-learn, SciPy) because the code
location imports it at load, and every run worker, sensor tick and CLI call loads the code
location: those libraries are imported only by the steps that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

# Multiclass would be a third task: a metric set, a label encoding and a family per task.
TaskType = Literal["binary", "regression"]
TASKS: tuple[str, ...] = get_args(TaskType)
BINARY, REGRESSION = TASKS

# Model families are a registry of their own (`ml.families`).


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    # True: higher is better; False: lower is better; None: descriptive, never compared.
    higher_is_better: bool | None
    # The values the metric can take (None: unbounded on that side): a floor outside them is
    # one no model can meet.
    low: float | None = None
    high: float | None = None

    @property
    def direction(self) -> str:
        if self.higher_is_better is None:
            return "descriptive"
        return "higher is better" if self.higher_is_better else "lower is better"

    def improvement(self, candidate: Any, reference: Any) -> Any:
        """How much better `candidate` is than `reference` (numbers or arrays): positive is
        better, whichever way the metric points."""
        if self.higher_is_better is None:
            raise ValueError(f"{self.name} is descriptive: it has no better or worse")
        return candidate - reference if self.higher_is_better else reference - candidate


_METRICS = (
    Metric("roc_auc", "ROC AUC", True, 0.0, 1.0),
    Metric("pr_auc", "PR AUC", True, 0.0, 1.0),
    Metric("log_loss", "log loss", False, 0.0),
    Metric("brier", "Brier score", False, 0.0, 1.0),
    Metric("calibration_error", "calibration error", False, 0.0, 1.0),
    Metric("precision_at_threshold", "precision at 0.5", True, 0.0, 1.0),
    Metric("recall_at_threshold", "recall at 0.5", True, 0.0, 1.0),
    Metric("positive_rate", "positive rate", None, 0.0, 1.0),
    Metric("rmse", "RMSE", False, 0.0),
    Metric("mae", "MAE", False, 0.0),
    Metric("r2", "R²", True, None, 1.0),
    Metric("label_mean", "label mean", None),
    Metric("prediction_mean", "prediction mean", None),
)
METRIC = {m.name: m for m in _METRICS}
# What `evaluation.score` reports per task, in the order tables show it; what a floor may bound.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    BINARY: (
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "calibration_error",
        "precision_at_threshold",
        "recall_at_threshold",
        "positive_rate",
    ),
    REGRESSION: ("rmse", "mae", "r2", "label_mean", "prediction_mean"),
}
# Metrics that may rank candidates and gate promotion (a paired bootstrap exists for each);
# the first is the default.
PRIMARY_METRICS: dict[str, tuple[str, ...]] = {
    BINARY: ("roc_auc", "log_loss"),
    REGRESSION: ("rmse", "mae"),
}
METRIC_NAMES = tuple(dict.fromkeys(n for names in TASK_METRICS.values() for n in names))
METRICS = frozenset(METRIC_NAMES)
# The two-sided level of the paired-bootstrap interval on a gain.
CONFIDENCE = 0.95
