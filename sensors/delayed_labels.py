"""Delayed labels: label files for served predictions become served_performance runs.

Each new file in `<landing>/<serving.labels_folder>/` is kept under its content hash, its
request ids are looked up in the prediction log, and served_performance is requested for the
partitions those predictions were served in. A file that cannot be read is logged with why and
set aside (`<data>/labels/rejected/`), never silently dropped.
"""

import hashlib
import json
from collections.abc import Iterable

import dagster as dg
import pandas as pd

from ct_assets.ingest.files import Location
from ct_assets.io.labels import keep, labels_dir, parse_label_file, reject
from ct_assets.ml.live_score import REQUEST_ID, ROW
from ct_assets.names import REASON_TAG, SERVED_PERFORMANCE, TRIGGER_TAG
from ct_assets.project.load import Project
from resources.sources import FileDropSource
from resources.storage import ArtifactStore

DELAYED_LABELS = "delayed_labels"


def partitions_of(labels: pd.DataFrame, answers: pd.DataFrame) -> list[str]:
    """The partitions of the logged answers that the labels are for."""
    keyed = answers.astype({REQUEST_ID: str, ROW: "int64"})
    hit = keyed.merge(labels[[REQUEST_ID, ROW]].drop_duplicates(), on=[REQUEST_ID, ROW])
    return sorted(hit["partition"].unique())


def answers_of(data: Location, ids: Iterable[str]) -> pd.DataFrame:
    """The logged answers (not shadow scores) of some request ids: request_id, row, partition."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ct_assets.io.predictions import ANSWER, read

    table = read(data)
    wanted = pc.is_in(table["request_id"], value_set=pa.array(sorted(set(ids)), pa.string()))
    table = table.filter(pc.and_(wanted, pc.equal(table["role"], ANSWER)))
    return table.select([REQUEST_ID, ROW, "partition"]).to_pandas()


def run_key(sha256: str, partition: str) -> str:
    return f"{SERVED_PERFORMANCE}:{sha256[:16]}:{partition}"


def build_delayed_labels_sensor(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> dg.SensorDefinition:
    spec = project.spec
    folder = spec.serving.labels_folder

    namespace = project.namespace

    @dg.sensor(
        name=namespace.name("delayed_labels_sensor"),
        asset_selection=namespace.keys(SERVED_PERFORMANCE),
        minimum_interval_seconds=project.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests served_performance for the partitions of the predictions that "
        f"new label files in the landing folder's {folder}/ are for.",
    )
    @namespace.resources
    def delayed_labels_sensor(
        context: dg.SensorEvaluationContext, file_drop: FileDropSource, artifacts: ArtifactStore
    ) -> dg.SensorResult:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        source = FileDropSource(
            url=f"{file_drop.url.rstrip('/')}/{folder}", endpoint_url=file_drop.endpoint_url
        )
        kept = labels_dir(artifacts.root)
        requests: list[dg.RunRequest] = []
        for landed in source.files():
            if seen.get(landed.path) == landed.signature:
                continue
            # Seen whatever happens next: a bad file is reported once, and again once fixed.
            seen[landed.path] = landed.signature
            data = source.delivery(landed).data
            try:
                labels = parse_label_file(data, landed.name, spec)
            except ValueError as exc:
                aside = reject(data, landed.path, str(exc), kept)
                context.log.error(f"label file {landed.path} refused: {exc} (kept at {aside})")
                continue
            keep(data, landed.name, kept)
            answers = answers_of(artifacts.root, labels[REQUEST_ID])
            existing = set(partitions.get_partition_keys())
            found = [p for p in partitions_of(labels, answers) if p in existing]
            if not found:
                context.log.warning(
                    f"label file {landed.path}: none of its {len(labels)} labels matches a "
                    "logged answer (kept; counted once their predictions are logged and the "
                    "partition is scored again)"
                )
            sha = hashlib.sha256(data).hexdigest()
            for partition in found:
                requests.append(
                    dg.RunRequest(
                        run_key=run_key(sha, partition),
                        partition_key=partition,
                        asset_selection=namespace.keys(SERVED_PERFORMANCE),
                        tags={
                            TRIGGER_TAG: DELAYED_LABELS,
                            REASON_TAG: landed.name,
                            **namespace.run_tags,
                        },
                    )
                )
        cursor = json.dumps(seen, sort_keys=True)
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason("no new labels"), cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return delayed_labels_sensor
