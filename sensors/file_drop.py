"""The file-drop sensor: new files in the landing folder become runs of their partitions."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from ct_assets.ingest.landing import LandedFile, partitions_of_bytes
from ct_assets.names import FILE_DROP, RAW_BATCHES, TRIGGER_TAG
from ct_assets.partitions import partition_key_of
from ct_assets.project.load import Project
from resources.sources import FileDropSource
from resources.storage import Delivery


@dataclass
class DropCursor:
    """What the sensor has seen: file path -> [signature, sha256], and sha256 -> first path."""

    files: dict[str, list[str]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> "DropCursor":
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(files=raw.get("files", {}), hashes=raw.get("hashes", {}))

    def dump(self) -> str:
        return json.dumps({"files": self.files, "hashes": self.hashes}, sort_keys=True)


@dataclass
class DropPlan:
    partitions: dict[str, list[str]] = field(default_factory=dict)  # partition -> new sha256s
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, first seen as)
    unplaceable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def plan_drops(
    landed: list[LandedFile],
    cursor: DropCursor,
    hash_of: Callable[[LandedFile], str],
    partitions_of: Callable[[LandedFile], list[str]],
) -> DropPlan:
    """Decide which partitions need ingesting; updates `cursor` in place.

    A file is hashed only when its size or modification time changed; the same bytes under a
    new name are recognised by hash and request nothing.
    """
    plan = DropPlan()
    for item in landed:
        path = item.path
        seen = cursor.files.get(path)
        if seen is not None and seen[0] == item.signature:
            continue
        sha = hash_of(item)
        cursor.files[path] = [item.signature, sha]
        first = cursor.hashes.get(sha)
        if first is not None:
            if first != path:
                plan.duplicates.append((path, first))
            continue
        try:
            keys = partitions_of(item)
        except (ValueError, OSError) as exc:
            plan.unplaceable.append((path, str(exc)))
            continue
        cursor.hashes[sha] = path
        for partition in keys:
            plan.partitions.setdefault(partition, []).append(sha)
    return plan


def run_key(partition: str, hashes: list[str]) -> str:
    digest = hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest()[:16]
    return f"{RAW_BATCHES}:{partition}:{digest}"


def build_file_drop_sensor(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> dg.SensorDefinition:
    spec = project.spec
    namespace = project.namespace

    @dg.sensor(
        name=namespace.name("file_drop_sensor"),
        asset_selection=namespace.keys(RAW_BATCHES),
        minimum_interval_seconds=project.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests raw_batches for the partitions of files new in the landing folder.",
    )
    @namespace.resources
    def file_drop_sensor(
        context: dg.SensorEvaluationContext, file_drop: FileDropSource
    ) -> dg.SensorResult | dg.SkipReason:
        cursor = DropCursor.parse(context.cursor)
        key_of = partition_key_of(partitions)
        read: dict[str, Delivery] = {}

        def delivery(item: LandedFile) -> Delivery:
            if item.path not in read:
                read[item.path] = file_drop.delivery(item)
            return read[item.path]

        plan = plan_drops(
            file_drop.files(),
            cursor,
            lambda item: delivery(item).sha256,
            lambda item: partitions_of_bytes(
                delivery(item).data, item.name, item.arrived_at, key_of, spec
            ),
        )
        for path, first in plan.duplicates:
            context.log.info(f"{path} holds the same bytes as {first}: already registered")
        for path, why in plan.unplaceable:
            context.log.error(f"{path} cannot be placed in a partition: {why}")
        requests = [
            dg.RunRequest(
                run_key=run_key(partition, hashes),
                partition_key=partition,
                asset_selection=namespace.keys(RAW_BATCHES),
                tags={
                    TRIGGER_TAG: FILE_DROP,
                    "ct/new_batches": str(len(hashes)),
                    **namespace.run_tags,
                },
            )
            for partition, hashes in sorted(plan.partitions.items())
        ]
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason("no new files"), cursor=cursor.dump())
        new_files = sorted(
            {cursor.hashes[sha] for shas in plan.partitions.values() for sha in shas}
        )
        delivered = dg.AssetMaterialization(
            asset_key=namespace.source(FILE_DROP),
            description=f"{len(new_files)} new file(s) in {file_drop.url}",
            metadata={"files": new_files, "partitions": sorted(plan.partitions)},
        )
        return dg.SensorResult(
            run_requests=requests, asset_events=[delivered], cursor=cursor.dump()
        )

    return file_drop_sensor
