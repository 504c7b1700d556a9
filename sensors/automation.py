"""The automation sensor: evaluates the stages' automation conditions (`ct_assets.policy`)."""

from __future__ import annotations

import dagster as dg


def build_automation_sensor(interval_seconds: int) -> dg.AutomationConditionSensorDefinition:
    # Declared RUNNING: a continuous-training platform must work without a click in the UI.
    return dg.AutomationConditionSensorDefinition(
        "ct_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_seconds,
    )
