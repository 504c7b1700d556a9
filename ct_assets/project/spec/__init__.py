"""The declared project (`ct.yaml`) as typed models: what the data is, what to predict, how.

Every stage asks this value ("which columns are categorical?", "which way is better for the
metric?") instead of importing a dataset's constants. Models are frozen and forbid unknown keys;
cross-field rules (a label that is a column, a check that fits its column's type, a window
feature over a numeric column) are validated in `rules.py`, so an error names the key it is
about. One module per section of ct.yaml; `project.py` holds the whole declaration.
"""

from ct_assets.project.spec.base import Strict, Threshold, did_you_mean, parse_duration
from ct_assets.project.spec.dataset import (
    EPOCH_UNITS,
    NUMERIC_TYPES,
    RESERVED_PREFIX,
    TIME_FORMATS,
    USUAL_POSITIVES,
    Checks,
    Column,
    ColumnType,
    Dataset,
    Roles,
    Task,
)
from ct_assets.project.spec.features import (
    AGGREGATIONS,
    TRANSFORM_OPS,
    Clip,
    DayOfWeek,
    Features,
    Hour,
    Log1p,
    Ratio,
    Transform,
    WindowAggregates,
    WindowFeatures,
)
from ct_assets.project.spec.gates import Gates, ServingBudget, Slices
from ct_assets.project.spec.monitoring import (
    DIMENSIONS_BY_TASK,
    CategoricalDrift,
    Drift,
    DriftMeasure,
    Freshness,
    FreshnessWindow,
    NumericDrift,
    Quality,
)
from ct_assets.project.spec.operations import Runs, ServingSettings
from ct_assets.project.spec.partitions import (
    GRANULARITIES,
    PERIODS,
    Granularity,
    Partitions,
    Period,
)
from ct_assets.project.spec.policy import (
    RETRAIN_TRIGGERS,
    Baking,
    Policy,
    Retrain,
    Rollback,
    default_policy,
)
from ct_assets.project.spec.project import ProjectSpec
from ct_assets.project.spec.sources import (
    HttpApiSection,
    RedisStreamSection,
    Sources,
    SqlSection,
    looks_secret,
    without_credentials,
)
from ct_assets.project.spec.training import Search, Selection, Training

__all__ = [
    "AGGREGATIONS",
    "DIMENSIONS_BY_TASK",
    "EPOCH_UNITS",
    "GRANULARITIES",
    "NUMERIC_TYPES",
    "PERIODS",
    "RESERVED_PREFIX",
    "RETRAIN_TRIGGERS",
    "TIME_FORMATS",
    "TRANSFORM_OPS",
    "USUAL_POSITIVES",
    "Baking",
    "CategoricalDrift",
    "Checks",
    "Clip",
    "Column",
    "ColumnType",
    "Dataset",
    "DayOfWeek",
    "Drift",
    "DriftMeasure",
    "Features",
    "Freshness",
    "FreshnessWindow",
    "Gates",
    "Granularity",
    "Hour",
    "HttpApiSection",
    "Log1p",
    "NumericDrift",
    "Partitions",
    "Period",
    "Policy",
    "ProjectSpec",
    "Quality",
    "Ratio",
    "RedisStreamSection",
    "Retrain",
    "Roles",
    "Rollback",
    "Runs",
    "Search",
    "Selection",
    "ServingBudget",
    "ServingSettings",
    "Slices",
    "Sources",
    "SqlSection",
    "Strict",
    "Task",
    "Threshold",
    "Training",
    "Transform",
    "WindowAggregates",
    "WindowFeatures",
    "default_policy",
    "did_you_mean",
    "looks_secret",
    "parse_duration",
    "without_credentials",
]
