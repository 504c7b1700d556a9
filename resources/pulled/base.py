"""What a pulled source is, and landing what it pulls.

A pulled source is a resource with a `name` and `pull(progress)`; a sensor calls `land_pulled`,
which lands what the source has beyond its recorded progress as one raw batch and only then
advances the progress (and acknowledges stream messages). Each kind is one module of this
package that registers a `PulledKind`: its resource and how a ct.yaml section builds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ct_assets.ingest.landing import partitions_of_bytes
from ct_assets.ml.schema import SchemaFailure, ValidationOutcome
from ct_assets.project.spec import ProjectSpec
from resources.storage import BatchStore, Delivery


@dataclass(frozen=True)
class PulledKind:
    """A kind of pulled source: the name its section in ct.yaml declares (`SOURCE` of the spec's
    section model) and how that section builds its resource (`endpoint` reads an environment
    variable by name, unset: None)."""

    name: str
    build: Callable[[Any, ProjectSpec, Callable[[str | None], str | None]], Any]


@dataclass
class Pulled:
    """New records read from a pulled source, not yet landed, and the progress they reach."""

    data: bytes
    file_name: str
    rows: int
    progress: dict[str, Any]
    ref: str
    details: dict[str, Any] = field(default_factory=dict)
    acknowledge: Callable[[], None] = lambda: None


class PulledSource(Protocol):
    name: str

    def pull(self, progress: dict[str, Any]) -> Pulled | None: ...


@dataclass
class Landing:
    manifest: dict[str, Any]
    is_new: bool
    quarantined: bool


def land_pulled(
    source: PulledSource,
    store: BatchStore,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
) -> Landing | None:
    """Land what `source` has beyond its progress as one raw batch; None when nothing is new.

    Order matters: the batch is durably written, then the progress advances, then messages are
    acknowledged. Rows outside every partition are kept, in quarantine, rather than dropped or
    left to block the source forever.
    """
    pulled = source.pull(store.source_progress(source.name))
    if pulled is None:
        return None
    arrived = datetime.now(UTC)
    delivery = Delivery(
        data=pulled.data,
        file_name=pulled.file_name,
        source=source.name,
        source_ref=pulled.ref,
        arrived_at=arrived,
        rows=pulled.rows,
        details=pulled.details,
    )
    try:
        partitions = partitions_of_bytes(pulled.data, pulled.file_name, arrived, key_of, spec)
    except ValueError as exc:
        partitions, unplaced = [], str(exc)
    manifest, is_new = store.ingest_pulled(delivery, partitions, pulled.progress)
    pulled.acknowledge()
    if not partitions:
        failure = SchemaFailure(spec.dataset.time, "no_partition", unplaced)
        store.quarantine(manifest, ValidationOutcome(pulled.file_name, None, [failure]).as_record())
    return Landing(manifest, is_new, quarantined=not partitions)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def jsonl(lines: list[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")
