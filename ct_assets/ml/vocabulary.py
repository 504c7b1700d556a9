"""The names settings are checked against: model families, metrics, the confidence level.

Kept apart from the modules that train and score (LightGBM, scikit-learn, SciPy) because the code
location imports it at load, and every run worker, sensor tick and CLI call loads the code
location: those libraries are imported only by the steps that use them.
"""

LIGHTGBM, SKLEARN_LOGREG, SKLEARN_HGB = "lightgbm", "sklearn_logreg", "sklearn_hgb"
# Continues the champion's booster on the rows it has not seen (see `incremental`).
LIGHTGBM_INCREMENTAL = "lightgbm_incremental"
FAMILIES = (LIGHTGBM, SKLEARN_LOGREG, SKLEARN_HGB, LIGHTGBM_INCREMENTAL)
# Families whose model is a LightGBM booster (logged in MLflow's lightgbm flavour).
BOOSTERS = frozenset({LIGHTGBM, LIGHTGBM_INCREMENTAL})

# What `evaluation.score` reports, in the order tables show it; and so what a floor may bound.
METRIC_NAMES = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "calibration_error",
    "precision_at_threshold",
    "recall_at_threshold",
    "positive_rate",
)
METRICS = frozenset(METRIC_NAMES)
# The two-sided level of the paired-bootstrap interval on a gain.
CONFIDENCE = 0.95
