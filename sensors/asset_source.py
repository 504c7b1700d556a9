"""Sensor of a Dagster asset of the user's own (`sources.asset`): each new materialization of it
lands in raw as a batch, then `raw_batches` is requested for the partitions its rows touch.

The asset is the user's, in the same code location; ct only depends on it
(`resources.asset_source.asset_source_deps` puts it upstream of `raw_batches`, so the lineage
graph runs user ETL -> raw -> ... -> champion) and reads it through its own IO manager.

How far the sensor has read is the storage id of the last materialization it handled, kept in
its cursor, which the daemon stores with the tick's run requests. A tick that dies after
landing is simply done again: the same values make the same bytes, so the same batches and the
same run keys, which Dagster launches once. That is why every batch a tick lands asks for its
partition's run, new or already there, and why a reset cursor lands nothing twice.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from ct_assets.names import RAW_BATCHES
from ct_assets.partitions import partition_key_of
from ct_assets.project.load import Project, declared_note
from ct_assets.project.spec import ProjectSpec
from resources.asset_source import SOURCE, AssetSource, land_delivery
from resources.pulled.base import Landing
from resources.sources import SourceError
from resources.storage import BatchStore
from sensors.pulled import MAX_BATCHES_PER_TICK, TICK_BUDGET_SECONDS, due_now, requests_for

# Materializations read from the instance per tick at most (each is one query's row).
PAGE = 100
SECTION = ("sources", "asset")


@dataclass
class Tick:
    """What one tick landed, how far it read, and whether it read everything there was."""

    after: int
    landings: list[Landing] = field(default_factory=list)
    drained: bool = True
    failure: str | None = None


def land_new(
    source: AssetSource,
    store: BatchStore,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
    after: int,
) -> Tick:
    """Land the materializations recorded after `after`, oldest first, within one tick's
    budget. A value that cannot be loaded stops the tick there: it is read again next tick
    (a storage that is down comes back; a value that is gone is replaced by materializing the
    partition again, which supersedes it)."""
    found, more = source.after(after, PAGE)
    tick = Tick(after)
    if not found:
        return tick
    began = time.monotonic()
    with source.loader() as load:
        for materialization in found:
            full = len(tick.landings) >= MAX_BATCHES_PER_TICK
            if full or time.monotonic() - began > TICK_BUDGET_SECONDS:
                more = True
                break
            if source.superseded(materialization):
                tick.after = materialization.storage_id
                continue
            try:
                value = load(materialization)
            except SourceError as exc:
                tick.failure = str(exc)
                break
            # Materialized again while it loaded: the value may already be the later one's,
            # which lands with its own provenance.
            if source.superseded(materialization):
                tick.after = materialization.storage_id
                continue
            delivery, refusal = source.delivery(materialization, value)
            tick.landings.append(land_delivery(delivery, refusal, store, key_of, spec))
            tick.after = materialization.storage_id
    tick.drained = not more and tick.failure is None
    return tick


def touched(landings: list[Landing]) -> dict[str, list[str]]:
    """Partition -> ids of the placeable batches holding its rows (new or landed before)."""
    found: dict[str, list[str]] = {}
    for landing in landings:
        if not landing.quarantined:
            for partition in landing.manifest["partitions"]:
                found.setdefault(partition, []).append(landing.manifest["batch_id"])
    return found


def read_cursor(cursor: str | None) -> tuple[int, dict[str, list[str]]]:
    """(the storage id read up to, partition -> batch ids waiting for it to complete)."""
    state = json.loads(cursor) if cursor else {}
    return int(state.get("after", 0)), state.get("waiting", {})


def write_cursor(after: int, waiting: dict[str, list[str]]) -> str:
    return json.dumps({"after": after, "waiting": waiting}, sort_keys=True)


def not_defined(project: Project) -> str:
    """Why the sensor does nothing when the code location lacks the declared asset."""
    section = project.spec.sources.asset
    assert section is not None
    where = declared_note(SECTION, project.locate(SECTION))
    return (
        f"sources.asset: no asset {section.key} in this code location ({where}): define it "
        "beside ct's definitions (`ct up` alone loads only ct's own)"
    )


def build_asset_source_sensors(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.SensorDefinition]:
    """The sensor of the project's `sources.asset`; none when it declares none."""
    section = project.spec.sources.asset
    if section is None:
        return []
    key = dg.AssetKey(section.path)
    raw = project.namespace.key(RAW_BATCHES)

    def asset_source_sensor(
        context: dg.SensorEvaluationContext, batch_store: BatchStore
    ) -> dg.SensorResult | dg.SkipReason:
        assert context.repository_def is not None  # a sensor always runs in its code location
        source = AssetSource(key, context.instance, context.repository_def)
        if not source.defined():
            context.log.error(not_defined(project))
            return dg.SkipReason(not_defined(project))
        after, waiting = read_cursor(context.cursor)
        key_of = partition_key_of(partitions, in_progress=True)
        tick = land_new(source, batch_store, key_of, project.spec, after)
        for landing in tick.landings:
            manifest = landing.manifest
            context.log.info(
                f"{manifest['source_path']}: batch {manifest['batch_id']} "
                f"({manifest['rows']} rows) in {', '.join(manifest['partitions']) or 'quarantine'}"
            )
        if tick.failure is not None:
            context.log.error(tick.failure)
        existing = set(partitions.get_partition_keys())
        due, waiting = due_now(waiting, touched(tick.landings), existing.__contains__, tick.drained)
        if tick.after == after and not due:
            return dg.SkipReason(tick.failure or f"nothing new in asset {section.key}")
        # Keyed by their batches: asked again for the same batches (a tick done twice, a value
        # materialized again unchanged), a run is launched once.
        return dg.SensorResult(
            run_requests=requests_for(SOURCE, due, project.namespace),
            cursor=write_cursor(tick.after, waiting),
        )

    sensor = dg.sensor(
        name=project.namespace.name(f"{SOURCE}_sensor"),
        asset_selection=[raw],
        minimum_interval_seconds=project.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Lands each new materialization of asset {section.key} in raw, then "
        f"requests {RAW_BATCHES} for the partitions its rows touch.",
    )(project.namespace.resources(asset_source_sensor))
    return [sensor]
