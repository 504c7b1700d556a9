"""Asset, check and source names: defined once, read by the stages, sensors and commands.

Sensors and commands import these names rather than the stage modules, so imports point one
way: stages and sensors depend on the pure parts of ct_assets, never on each other.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

# The project layer and `ct --help` read these names: Dagster (seconds to import) is imported
# only where a key or a selection is built.
if TYPE_CHECKING:
    import dagster as dg
RAW_BATCHES = "raw_batches"
VALIDATED_BATCHES = "validated_batches"
FEATURES = "features"
ONLINE_FEATURES = "online_features"
TRAINING_WINDOW = "training_window"
CANDIDATE_MODELS = "candidate_models"
MODEL_EVALUATIONS = "model_evaluations"
PRODUCTION_MODEL = "production_model"
FEATURE_DRIFT = "feature_drift"
# The closed loop: the champion scored on each new labeled partition before any retraining,
# served predictions joined to their delayed labels, both per model version, and batch scores.
CHAMPION_PERFORMANCE = "champion_performance"
SERVED_PERFORMANCE = "served_performance"
LIVE_PERFORMANCE = "live_performance"
BATCH_PREDICTIONS = "batch_predictions"
# The stages in pipeline order, for anything that walks the whole graph.
STAGES = (
    RAW_BATCHES,
    VALIDATED_BATCHES,
    FEATURES,
    TRAINING_WINDOW,
    CANDIDATE_MODELS,
    MODEL_EVALUATIONS,
    PRODUCTION_MODEL,
)
# A retrain: the window, candidates, evaluation and decision of one partition.
RETRAIN = (TRAINING_WINDOW, CANDIDATE_MODELS, MODEL_EVALUATIONS, PRODUCTION_MODEL)

# champion_performance's checks: the live metric against its baseline, the holdout against
# the first live partitions, the label rate against the training rows.
LIVE_CHECK = "champion_holds_live"
GAP_CHECK = "holdout_predicts_live"
LABEL_SHIFT_CHECK = "label_rate_holds"
# served_performance's: the champion's served answers against its holdout figure.
SERVED_GAP_CHECK = "holdout_predicts_served"

SCHEMA_CHECK = "events_match_schema"
DRIFT_CHECK = "drift_share_below_threshold"
PROMOTION_GATE = "promotion_gate"
PROMOTION_POOL = "promotion"
FILE_DROP = "file_drop"
TRIGGER_TAG = "ct/trigger"
# Why a sensor or schedule started a run, in words (the trigger tag holds its kind).
REASON_TAG = "ct/reason"
# Runs that train candidates carry RUN_KIND_TAG=TRAINING_RUNS: the production run queue limits
# how many of them go at once.
RUN_KIND_TAG = "ct/run-kind"
TRAINING_RUNS = "training"
# Which project an asset or a run belongs to.
PROJECT_TAG = "ct/project"


def quality_check_name(dimension: str) -> str:
    return f"quality_{dimension}"


def gate_check_name(gate: str) -> str:
    return f"{gate}_gate"


F = TypeVar("F", bound=Callable[..., Any])


def source_key(name: str) -> dg.AssetKey:
    """A lone install's source key; a project's own is `Namespace.source`."""
    return Namespace().source(name)


# Dagster's names of sensors, schedules, jobs and resources: one segment of these characters.
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Namespace:
    """Where one project's definitions live in a deployment it may share with other projects.

    A lone install (no prefix) keeps the bare keys it has always had, so its stored history
    stays where it is. A project of a fleet or a Dagster Component lives under its name:
    asset `churn/raw_batches`, group `churn/training` (a tree in the UI), pool
    `churn/promotion`, and sensor, schedule, job and resource `churn__file_drop`. Every name a
    project gives Dagster goes through here, so two projects never touch each other's.
    """

    prefix: str = ""
    # The project's name as declared, for the runs it starts.
    project: str = ""

    @classmethod
    def of(cls, name: str) -> Namespace:
        """The namespace of a project named `name` (its characters made fit for every name)."""
        return cls(_NOT_IN_NAME.sub("_", name), name)

    @property
    def run_tags(self) -> dict[str, str]:
        """Tags of every run the project starts: the UI's runs page and the run queue can
        pick one project's runs out of a shared instance."""
        return {PROJECT_TAG: self.project} if self.project else {}

    @property
    def path(self) -> list[str]:
        return [self.prefix] if self.prefix else []

    def key(self, name: str) -> dg.AssetKey:
        import dagster as dg

        return dg.AssetKey([*self.path, name])

    def keys(self, *names: str) -> list[dg.AssetKey]:
        return [self.key(name) for name in names]

    def source(self, name: str) -> dg.AssetKey:
        import dagster as dg

        return dg.AssetKey([*self.path, "sources", name])

    def selection(self, *names: str) -> dg.AssetSelection:
        import dagster as dg

        return dg.AssetSelection.assets(*self.keys(*names))

    def everything(self) -> dg.AssetSelection:
        """Every asset of the project, sources included (a lone install: every asset)."""
        import dagster as dg

        if not self.prefix:
            return dg.AssetSelection.all()
        return dg.AssetSelection.key_prefixes([self.prefix])

    def group(self, group: str) -> str:
        return f"{self.prefix}/{group}" if self.prefix else group

    def pool(self, pool: str) -> str:
        return f"{self.prefix}/{pool}" if self.prefix else pool

    def name(self, name: str) -> str:
        """A sensor's, schedule's, job's or resource's name."""
        return f"{self.prefix}__{name}" if self.prefix else name

    def owns(self, key: dg.AssetKey) -> bool:
        return not self.prefix or key.path[:1] == [self.prefix]

    def resources(self, fn: F) -> F:
        """`fn` asking for its resources by this namespace's names.

        Dagster hands a resource to the parameter of its key's name; the stages and sensors
        keep writing `mlflow: MlflowRegistry`, and this renames such parameters (any typed as a
        ConfigurableResource) to `churn__mlflow`, handing each back under its own name.
        """
        import dagster as dg

        if not self.prefix:
            return fn
        signature = inspect.signature(fn, eval_str=True)
        renamed = {
            name: self.name(name)
            for name, parameter in signature.parameters.items()
            if isinstance(parameter.annotation, type)
            and issubclass(parameter.annotation, dg.ConfigurableResource)
        }
        back = {new: old for old, new in renamed.items()}

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **{back.get(k, k): v for k, v in kwargs.items()})

        # Dagster reads the signature; `wraps` would lead it back to the original's.
        del wrapper.__wrapped__  # type: ignore[attr-defined]
        parameters = [p.replace(name=renamed.get(n, n)) for n, p in signature.parameters.items()]
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{renamed.get(n, n): p.annotation for n, p in signature.parameters.items()},
            "return": signature.return_annotation,
        }
        return wrapper  # type: ignore[return-value]


# A lone install's namespace: the bare keys ct has always given its assets.
LONE = Namespace()
