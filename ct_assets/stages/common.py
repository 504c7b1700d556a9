"""Policy shared by every stage, applied here once: partitions, automation, retries, tags.

`AutomationCondition.eager()` acts only on the latest time window; continuous training must also
react to a late or replayed day, so ct uses the same building blocks without that restriction.
The conditions live here, beside the assets they govern; the automation sensor that evaluates
them is in `sensors/`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import dagster as dg

from ct_assets.names import LONE, PROJECT_TAG, PROMOTION_POOL, Namespace
from ct_assets.project.load import Project
from ct_assets.project.spec import FreshnessWindow, parse_duration
from resources.k8s import step_op_tags

AC = dg.AutomationCondition
# A transient failure (a store or server briefly away) gets one more try; a refusal that will
# not change raises `dg.Failure(allow_retries=False)`.
RETRY = dg.RetryPolicy(max_retries=1, delay=2, backoff=dg.Backoff.EXPONENTIAL)


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


def stage_asset(
    name: str,
    *,
    group: str,
    partitions: dg.PartitionsDefinition | None,
    project: Project,
    code_version: str,
    kinds: set[str],
    automation: dg.AutomationCondition | None,
    **extra: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """`@dg.asset` with the policy every stage shares; `extra` is what the stage adds.

    `automation` is the stage's condition: None for raw batches, which their sensors start.
    Each step's Kubernetes resources follow its group (read only by the k8s executor); a
    stage's own op tags are kept beside them. Every name goes through the project's namespace:
    the asset's key, its inputs (a parameter names its upstream stage), deps, group, pool, IO
    manager and resources, so projects side by side never share one.
    """
    namespace = project.namespace
    op_tags = {**step_op_tags(group), **extra.pop("op_tags", {})}
    given_ins: dict[str, dg.AssetIn] = extra.pop("ins", {})
    deps = [namespaced_dep(namespace, dep) for dep in extra.pop("deps", [])]
    if "pool" in extra:
        extra["pool"] = namespace.pool(extra["pool"])
    io_manager = namespace.name(extra.pop("io_manager_key", "io_manager"))

    def decorate(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        ins = stage_inputs(namespace, fn, given_ins)
        return dg.asset(
            key=namespace.key(name),
            group_name=namespace.group(group),
            partitions_def=partitions,
            code_version=code_version,
            kinds=kinds,
            automation_condition=automation,
            retry_policy=RETRY,
            tags={PROJECT_TAG: project.spec.name},
            op_tags=op_tags,
            ins=ins,
            deps=deps,
            io_manager_key=io_manager,
            **extra,
        )(namespace.resources(fn))

    return decorate


def stage_inputs(
    namespace: Namespace, fn: Callable[..., Any], given: dict[str, dg.AssetIn]
) -> dict[str, dg.AssetIn]:
    """Every input of a stage's function, keyed in the namespace: a parameter that is not the
    context, config or a resource names its upstream stage; a given `AssetIn` keeps its
    mapping."""
    ins: dict[str, dg.AssetIn] = {}
    for parameter in inspect.signature(fn, eval_str=True).parameters.values():
        annotation = parameter.annotation
        # The context, the run's config and resources are not inputs.
        if parameter.name == "context" or (
            isinstance(annotation, type) and issubclass(annotation, dg.Config)
        ):
            continue
        chosen = given.get(parameter.name, dg.AssetIn())
        ins[parameter.name] = chosen._replace(
            key=chosen.key or namespace.key(parameter.name),
            input_manager_key=chosen.input_manager_key and namespace.name(chosen.input_manager_key),
        )
    return ins


def namespaced_dep(namespace: Namespace, dep: Any) -> Any:
    """A dependency on another stage, by its name, as its key in the namespace; a key or an
    `AssetDep` (a source, a user's own asset) stays as given."""
    return namespace.key(dep) if isinstance(dep, str) else dep


def initialize_pools(instance: dg.DagsterInstance, namespace: Namespace = LONE) -> None:
    """Give every pool ct declares its slots from the instance's default limit, now.

    Dagster creates a pool's slots lazily, when a step first claims one; two processes doing
    that at once on a fresh SQLite instance can each create a slot, doubling the pool's limit.
    Creating them once, before any run, leaves that creation nothing to race on. (Two claims of
    the one slot at the same instant can still both succeed on SQLite: the registry's
    `alias_lock` is what keeps champion moves one at a time there.)
    """
    instance.event_log_storage.initialize_concurrency_limit_to_default(
        namespace.pool(PROMOTION_POOL)
    )


def freshness(window: FreshnessWindow) -> dg.FreshnessPolicy:
    """A declared freshness window (warn, fail) as Dagster's policy."""
    return dg.FreshnessPolicy.time_window(
        fail_window=parse_duration(window.fail), warn_window=parse_duration(window.warn)
    )
