"""Asset, check and source names: defined once, read by the stages, sensors and commands.

Sensors and commands import these names rather than the stage modules, so imports point one
way: stages and sensors depend on the pure parts of ct_assets, never on each other.
"""

from __future__ import annotations

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


def quality_check_name(dimension: str) -> str:
    return f"quality_{dimension}"


def gate_check_name(gate: str) -> str:
    return f"{gate}_gate"


def source_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sources", name])
