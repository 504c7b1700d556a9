"""The one `Definitions` of ct: every stage, sensor and resource of its projects, in one place.

`dagster dev` and `dagster asset materialize -m ct_assets.definitions` load the fleet that
CT_FLEET names (every project under that folder, each under its name), else the one project that
CT_PROJECT (else the current directory) names, with the bare keys a lone install always had.
`build_definitions` builds any project's; `build_fleet_definitions` puts several side by side.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg

from ct_assets.names import FEATURES, LONE, RAW_BATCHES, STAGES, VALIDATED_BATCHES, Namespace
from ct_assets.partitions import build_partitions
from ct_assets.project.fleet import load_fleet
from ct_assets.project.load import Project, load_project
from ct_assets.stages.candidates import build_candidates
from ct_assets.stages.drift import build_drift
from ct_assets.stages.evaluations import build_evaluations
from ct_assets.stages.features import build_feature_assets
from ct_assets.stages.online import build_online_features
from ct_assets.stages.performance import build_performance
from ct_assets.stages.production import build_production
from ct_assets.stages.raw import build_raw, build_source_specs
from ct_assets.stages.scoring import build_scoring
from ct_assets.stages.splits import build_splits
from ct_assets.stages.validated import build_validated
from resources import resolve
from sensors.asset_source import build_asset_source_sensors
from sensors.automation import build_automation_sensors
from sensors.delayed_labels import build_delayed_labels_sensor
from sensors.file_drop import build_file_drop_sensor
from sensors.freshness import build_freshness_sensor
from sensors.model_freshness import build_model_freshness_sensor
from sensors.pulled import build_pulled_sensor
from sensors.retrain import build_retrain_schedules, build_retrain_sensor
from sensors.rollback import build_rollback_sensor

__all__ = ["STAGES", "build_definitions", "build_fleet_definitions", "defs"]


def build_definitions(project: Project) -> dg.Definitions:
    environment = resolve(project)
    partitions = build_partitions(project.spec)
    assets = [
        *build_raw(project, partitions),
        *build_validated(project, partitions),
        *build_feature_assets(project, partitions),
        *build_online_features(project, partitions),
        *build_splits(project, partitions),
        *build_candidates(project, partitions),
        *build_evaluations(project, partitions),
        *build_production(project, partitions),
        *build_drift(project, partitions),
        *build_performance(project, partitions),
        *build_scoring(project, partitions),
    ]
    return dg.Definitions(
        assets=[*build_source_specs(project), *assets],
        sensors=[
            build_file_drop_sensor(project, partitions),
            *(build_pulled_sensor(n, project, partitions) for n in project.spec.sources.pulled),
            *build_asset_source_sensors(project, partitions),
            build_freshness_sensor(project),
            build_model_freshness_sensor(project),
            *build_automation_sensors(project.poll_seconds, project.namespace),
            build_delayed_labels_sensor(project, partitions),
            build_retrain_sensor(project),
            build_rollback_sensor(project),
        ],
        schedules=build_retrain_schedules(project),
        jobs=[ingest_job(partitions, project.namespace)],
        resources=environment.resources(),
        # Steps of one partition are small: one process per run locally; one pod per step on
        # Kubernetes, where each step kind gets the resources it needs (`resources/k8s.py`).
        executor=environment.executor_def(),
    )


INGEST_JOB = "ingest"


def ingest_job(
    partitions: dg.PartitionsDefinition, namespace: Namespace = LONE
) -> dg.UnresolvedAssetJobDefinition:
    """Landing -> raw -> validated -> features for chosen partitions: what a backfill replays
    (`dagster job backfill -j ingest --from ... --to ...`) when a project moves or a schema
    changes; training follows by automation, on the newest window."""
    return dg.define_asset_job(
        namespace.name(INGEST_JOB),
        selection=namespace.selection(RAW_BATCHES, VALIDATED_BATCHES, FEATURES),
        partitions_def=partitions,
        tags=namespace.run_tags,
        description="landing -> raw -> validated -> features, one run per partition",
    )


def build_fleet_definitions(projects: Sequence[Project]) -> dg.Definitions:
    """Several projects in one code location: each project's definitions carry its namespace,
    so they merge without a shared key, name or resource."""
    return dg.Definitions.merge(*(build_definitions(project) for project in projects))


@dg.definitions
def defs() -> dg.Definitions:
    """The fleet of CT_FLEET, else the project of CT_PROJECT (else the current directory),
    loaded when Dagster asks."""
    fleet = os.environ.get("CT_FLEET")
    if fleet:
        return build_fleet_definitions(load_fleet(fleet).projects)
    return build_definitions(load_project())
