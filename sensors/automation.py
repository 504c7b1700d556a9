"""How work propagates from one asset to the next without anyone starting it.

`AutomationCondition.eager()` acts only on the latest time window; continuous training must also
react to a late or replayed day, so ct uses the same building blocks without that restriction.
"""

from __future__ import annotations

import dagster as dg

AC = dg.AutomationCondition


def after_upstream() -> dg.AutomationCondition:
    """Run a partition once its upstream partition is updated, complete and passed its gates."""
    return (
        AC.any_deps_updated().since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & AC.all_deps_blocking_checks_passed()
    ).with_label("after_upstream")


def after_history_upstream() -> dg.AutomationCondition:
    """For an asset reading its own upstream partition plus earlier ones (a lookback).

    It runs when any of them is updated (late data changes later windows) and all of them exist;
    whether its own day passed its gates is decided in the asset, which fails visibly when its
    day has nothing valid (partition identity cannot be expressed in a condition on a window).
    """
    return (
        AC.any_deps_updated().since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("after_history_upstream")


def after_window_upstream() -> dg.AutomationCondition:
    """Like `after_upstream`, for an asset reading a rolling window of upstream partitions.

    A day in the window whose upstream failed (its data was refused) will never arrive, so it
    must not hold the window back; any other missing day is still expected and is waited for.
    """
    still_expected = (AC.missing() & ~AC.will_be_requested() & ~AC.execution_failed()).with_label(
        "still_expected"
    )
    return (
        AC.any_deps_updated().since_last_handled()
        & ~AC.any_deps_match(still_expected)
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("after_window_upstream")


def build_automation_sensor(interval_seconds: int) -> dg.AutomationConditionSensorDefinition:
    # Declared RUNNING: a continuous-training platform must work without a click in the UI.
    return dg.AutomationConditionSensorDefinition(
        "ct_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_seconds,
    )
