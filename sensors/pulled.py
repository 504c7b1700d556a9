"""Sensors of the pulled sources (SQL watermark, Redis stream, HTTP API).

Each tick lands what its source has beyond its recorded progress (see `land_pulled`), then asks
for `raw_batches` of every partition the new batches touch, and records the delivery on the
source's external asset so its freshness is tracked. Events of the partition under way land as
they come; its run waits in the sensor's cursor until the partition is complete. A batch landed
by a tick the daemon never recorded (the tick died or ran past its deadline after landing) is
still noted in the store and taken by the next tick: no landed row goes without its run.
"""

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import dagster as dg

from ct_assets.names import LONE, RAW_BATCHES, TRIGGER_TAG, Namespace
from ct_assets.partitions import partition_key_of
from ct_assets.project.load import Project
from resources.pulled.base import Landing, PulledSource, land_pulled
from resources.sources import SourceError
from resources.storage import BatchStore

# Batches landed per tick at most, and the time after which a tick lands no more, so one tick
# stays short while a backlog drains: a tick the daemon times out (60 s) loses its run requests
# and cursor though its batches landed (a soak at 10k events/s on a loaded machine lost a
# partition's run that way).
MAX_BATCHES_PER_TICK = 10
TICK_BUDGET_SECONDS = 20.0


def touched_by(landings: list[Landing]) -> dict[str, list[str]]:
    """Partition -> ids of the newly landed, placeable batches holding its rows."""
    touched: dict[str, list[str]] = {}
    for landing in landings:
        if landing.is_new and not landing.quarantined:
            for partition in landing.manifest["partitions"]:
                touched.setdefault(partition, []).append(landing.manifest["batch_id"])
    return touched


def due_now(
    waiting: dict[str, list[str]],
    touched: dict[str, list[str]],
    exists: Callable[[str], bool],
    drained: bool,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(partitions to run now, partitions still waiting), each with its batch ids.

    A partition still under way has no Dagster partition yet, so its batches wait (in the
    sensor's cursor) and its run is requested once: when it is complete and its events are read,
    that is when the source is drained or this tick landed events of a later partition (a
    stream delivers in order). One run per partition rather than one per tick; a straggler
    after that is requested as any late batch is.
    """
    merged = {p: sorted({*waiting.get(p, []), *touched.get(p, [])}) for p in {*waiting, *touched}}
    newest = max(touched, default="")
    # Keys of every granularity sort in time order.
    due = {p: ids for p, ids in merged.items() if exists(p) and (drained or newest > p)}
    return due, {p: ids for p, ids in merged.items() if p not in due}


def requests_for(
    source: str, due: dict[str, list[str]], namespace: Namespace = LONE
) -> list[dg.RunRequest]:
    """One raw_batches run per partition with new batches."""
    return [
        dg.RunRequest(
            run_key=f"{RAW_BATCHES}:{partition}:{run_key_part(ids)}",
            partition_key=partition,
            asset_selection=namespace.keys(RAW_BATCHES),
            tags={
                TRIGGER_TAG: source,
                "ct/new_batches": str(len(ids)),
                **namespace.run_tags,
            },
        )
        for partition, ids in sorted(due.items())
    ]


def read_cursor(cursor: str | None) -> tuple[dict[str, list[str]], list[str]]:
    """(partition -> batch ids waiting for it to complete, batch ids the tick took)."""
    state = json.loads(cursor) if cursor else {}
    if set(state) - {"waiting", "handed"}:
        return state, []  # a cursor written before ct noted handed batches: all waiting
    return state.get("waiting", {}), state.get("handed", [])


def run_key_part(ids: list[str]) -> str:
    """The batch ids in a run key; a digest of them when a waiting partition gathered many
    (a key of thousands of ids is stored on every run and every tick)."""
    joined = "+".join(sorted(ids))
    return joined if len(ids) <= 8 else hashlib.sha256(joined.encode()).hexdigest()[:32]


def delivery_event(
    source: str, landings: list[Landing], namespace: Namespace = LONE
) -> dg.AssetMaterialization:
    manifests = [landing.manifest for landing in landings]
    return dg.AssetMaterialization(
        asset_key=namespace.source(source),
        description=f"{len(manifests)} batch(es) landed from {source}",
        metadata={
            "batch_ids": [m["batch_id"] for m in manifests],
            "rows": sum(int(m.get("rows") or 0) for m in manifests),
            "quarantined": [lg.manifest["batch_id"] for lg in landings if lg.quarantined],
            "progress": dg.MetadataValue.json(manifests[-1].get("source_details", {})),
        },
    )


def build_pulled_sensor(
    source_name: str, project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> dg.SensorDefinition:
    namespace = project.namespace

    @dg.sensor(
        name=namespace.name(f"{source_name}_sensor"),
        asset_selection=namespace.keys(RAW_BATCHES),
        minimum_interval_seconds=project.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={namespace.name(source_name), namespace.name("batch_store")},
        description=f"Lands new records of the {source_name} source in raw, then requests "
        "raw_batches for the partitions they touch.",
    )
    def pulled_sensor(context: dg.SensorEvaluationContext) -> Any:
        source: PulledSource = getattr(context.resources, namespace.name(source_name))
        store: BatchStore = getattr(context.resources, namespace.name("batch_store"))
        key_of = partition_key_of(partitions, in_progress=True)
        waiting, handed = read_cursor(context.cursor)
        # The last recorded tick's batches are safe (requested, or waiting in its cursor); any
        # other batch still noted was landed by a tick the daemon never recorded: take it now.
        store.requested(source_name, handed)
        lost = [m for i in store.unrequested(source_name) if (m := store.find_batch(i))]
        for manifest in lost:
            context.log.warning(
                f"batch {manifest['batch_id']} landed in a tick that was not recorded: "
                "requesting its partitions now"
            )
        landings: list[Landing] = []
        failure = None
        drained = False
        began = time.monotonic()
        try:
            for _ in range(MAX_BATCHES_PER_TICK):
                if time.monotonic() - began > TICK_BUDGET_SECONDS:
                    break
                landing = land_pulled(source, store, key_of, project.spec)
                if landing is None:
                    drained = True
                    break
                landings.append(landing)
        except SourceError as exc:
            # What landed before the failure stays landed and is still requested below.
            context.log.error(str(exc))
            failure = str(exc)
        for landing in landings:
            if landing.quarantined:
                context.log.error(
                    f"batch {landing.manifest['batch_id']} fits no partition: quarantined"
                )
        recovered = [Landing(m, is_new=True, quarantined=not m["partitions"]) for m in lost]
        touched = touched_by([*recovered, *landings])
        existing = set(partitions.get_partition_keys())
        due, waiting = due_now(waiting, touched, existing.__contains__, drained)
        if not landings and not due and not lost:
            return dg.SkipReason(failure or f"nothing new in {source_name}")
        taken = sorted({r.manifest["batch_id"] for r in [*recovered, *landings]})
        return dg.SensorResult(
            run_requests=requests_for(source_name, due, namespace),
            asset_events=[delivery_event(source_name, landings, namespace)] if landings else [],
            cursor=json.dumps({"waiting": waiting, "handed": taken}, sort_keys=True),
        )

    return pulled_sensor
