"""The automation sensors: they evaluate the stages' automation conditions
(`ct_assets.stages.common`).

Two sensors over disjoint selections, so that every run that trains candidates carries
`ct/run-kind=training`: the production run queue limits those runs on that tag (a training run
holds cores and memory for minutes, an ingest run for seconds).
"""

from __future__ import annotations

import dagster as dg

from ct_assets.names import LONE, RUN_KIND_TAG, TRAINING_RUNS, Namespace

TRAINING_GROUPS = ("candidates",)


def build_automation_sensors(
    interval_seconds: int, namespace: Namespace = LONE
) -> list[dg.AutomationConditionSensorDefinition]:
    """The project's own automation: a project beside others (or beside a user's own assets)
    evaluates only its assets."""
    training = dg.AssetSelection.groups(*(namespace.group(g) for g in TRAINING_GROUPS))
    # Declared RUNNING: a continuous-training platform must work without a click in the UI.
    return [
        dg.AutomationConditionSensorDefinition(
            namespace.name("ct_automation"),
            target=namespace.everything() - training,
            run_tags=namespace.run_tags,
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=interval_seconds,
        ),
        dg.AutomationConditionSensorDefinition(
            namespace.name("ct_training_automation"),
            target=training,
            run_tags={RUN_KIND_TAG: TRAINING_RUNS, **namespace.run_tags},
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=interval_seconds,
        ),
    ]
