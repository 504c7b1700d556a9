"""The one `Definitions` of ct: every stage, sensor and resource, assembled in one place."""

from __future__ import annotations

import dagster as dg

from ct_assets.candidates import CANDIDATE_MODELS, build_candidates
from ct_assets.drift import build_drift
from ct_assets.evaluations import MODEL_EVALUATIONS, build_evaluations
from ct_assets.features import FEATURES, build_feature_assets
from ct_assets.online import build_online_features
from ct_assets.partitions import build_partitions
from ct_assets.production import PRODUCTION_MODEL, build_production
from ct_assets.raw import RAW_BATCHES, build_raw, build_source_specs
from ct_assets.settings import PipelineSettings, load_settings
from ct_assets.splits import TRAINING_WINDOW, build_splits
from ct_assets.validated import VALIDATED_BATCHES, build_validated
from resources import build_resources
from sensors.automation import build_automation_sensor
from sensors.file_drop import build_file_drop_sensor
from sensors.freshness import build_freshness_sensor
from sensors.model_freshness import build_model_freshness_sensor
from sensors.pulled import build_pulled_sensor

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


def build_definitions(settings: PipelineSettings) -> dg.Definitions:
    partitions = build_partitions(settings)
    assets = [
        *build_raw(settings, partitions),
        *build_validated(settings, partitions),
        *build_feature_assets(settings, partitions),
        *build_online_features(partitions),
        *build_splits(settings, partitions),
        *build_candidates(settings, partitions),
        *build_evaluations(settings, partitions),
        *build_production(settings, partitions),
        *build_drift(settings, partitions),
    ]
    interval = settings.sensor_interval_seconds
    return dg.Definitions(
        assets=[*build_source_specs(settings), *assets],
        sensors=[
            build_file_drop_sensor(partitions, interval),
            *(build_pulled_sensor(name, partitions, interval) for name in settings.pulled_sources),
            build_freshness_sensor(settings),
            build_model_freshness_sensor(settings),
            build_automation_sensor(interval),
        ],
        resources=build_resources(settings, settings.environment),
        # Steps of one partition are small; a process per step would cost more than the work.
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
