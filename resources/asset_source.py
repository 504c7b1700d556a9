"""A Dagster asset of the user's own as a source: its materializations, their values, and each
value landed in raw as a batch (`sources.asset` in ct.yaml).

The asset is defined beside ct in the same code location and stored by whatever IO manager the
user gave it: a value is loaded through that IO manager, as a downstream asset of theirs would
load it. Each materialization is one delivery: Parquet bytes named by their hash, its rows
placed in ct's partitions by their event time, where it came from (key, partition,
materialization, run) in the batch's `source_details`. The sensor that drives this is
`sensors/asset_source.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ingest.landing import partitions_of_bytes
from ct_assets.ingest.tables import NotATable, as_frame, parquet_bytes, shown
from ct_assets.ml.schema import SchemaFailure, ValidationOutcome
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.project.spec.sources import AssetSection
from resources.pulled.base import Landing
from resources.sources import SourceError
from resources.storage import BatchStore, Delivery

# The `source` of the batches an asset delivers.
SOURCE = AssetSection.SOURCE
# Characters a partition key may hold that a file name should not ("|" of multi-partitions).
_NOT_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def asset_source_deps(project: Project) -> list[dg.AssetKey]:
    """The user's asset `raw_batches` depends on, as declared (none without `sources.asset`).
    The key is the user's own: ct's namespace is not added to it."""
    section = project.spec.sources.asset
    return [] if section is None else [dg.AssetKey(section.path)]


@dataclass(frozen=True)
class Materialization:
    """One materialization of the asset, as the instance recorded it."""

    storage_id: int
    run_id: str
    partition: str | None
    at: datetime

    @classmethod
    def of(cls, record: dg.EventLogRecord) -> Materialization:
        return cls(
            storage_id=record.storage_id,
            run_id=record.run_id,
            partition=record.partition_key,
            at=datetime.fromtimestamp(record.timestamp, UTC),
        )

    def describe(self, key: str) -> str:
        where = f" partition {self.partition}" if self.partition is not None else ""
        return f"asset {key}{where} (materialization {self.storage_id}, run {self.run_id[:8]})"


@dataclass(frozen=True)
class AssetSource:
    """The declared asset in the instance and code location a sensor tick sees."""

    key: dg.AssetKey
    instance: dg.DagsterInstance
    repository: dg.RepositoryDefinition

    @property
    def name(self) -> str:
        return self.key.to_user_string()

    def defined(self) -> bool:
        """Whether the code location defines the asset, so its values can be loaded (a key
        ct's definitions only depend on is in the graph too, as an external asset)."""
        graph = self.repository.asset_graph
        return graph.has(self.key) and graph.get(self.key).is_materializable

    def after(self, storage_id: int, limit: int) -> tuple[list[Materialization], bool]:
        """Materializations recorded after `storage_id`, oldest first, and whether more follow."""
        found = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=self.key, after_storage_id=storage_id),
            limit=limit,
            ascending=True,
        )
        return [Materialization.of(r) for r in found.records], found.has_more

    def superseded(self, materialization: Materialization) -> bool:
        """Whether a later materialization of the same partition exists. An IO manager keeps
        one value per partition, so the earlier one's value is gone: the later one delivers."""
        partitions = None if materialization.partition is None else [materialization.partition]
        later = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=self.key,
                asset_partitions=partitions,
                after_storage_id=materialization.storage_id,
            ),
            limit=1,
        )
        return bool(later.records)

    @contextmanager
    def loader(self) -> Iterator[Callable[[Materialization], Any]]:
        """Loads values through the asset's IO manager, its resources built once for a tick."""
        wanted = self._declared_type()
        with self.repository.get_asset_value_loader(instance=self.instance) as loader:

            def load(materialization: Materialization) -> Any:
                try:
                    return loader.load_asset_value(
                        self.key, python_type=wanted, partition_key=materialization.partition
                    )
                except Exception as exc:  # the user's IO manager may raise anything
                    raise SourceError(
                        f"{materialization.describe(self.name)}: cannot load its value through "
                        f"its IO manager: {type(exc).__name__}: {exc}"
                    ) from exc

            yield load

    def _declared_type(self) -> type:
        """The type the asset declares it returns, for an IO manager that loads by type (a
        database's: pandas or polars); a DataFrame where it declares none."""
        definition = self.repository.asset_graph.get(self.key).assets_def
        try:
            output = definition.get_output_name_for_asset_key(self.key)
            declared = definition.op.output_def_named(output).dagster_type.typing_type
        except Exception:  # a graph-backed asset has no single op to ask
            return pd.DataFrame
        return declared if isinstance(declared, type) and declared is not object else pd.DataFrame

    def delivery(self, materialization: Materialization, value: Any) -> tuple[Delivery, str]:
        """The value as a delivery, and why it is refused ("" when it is a table)."""
        stem = "_".join(self.key.path)
        if materialization.partition is not None:
            # A date in the name places a batch whose rows have no readable event time.
            stem += "_" + _NOT_IN_FILE_NAME.sub("_", materialization.partition)
        stem += f"_{materialization.storage_id}"
        try:
            frame = as_frame(value)
        except NotATable as exc:
            data, name, rows, refusal = shown(value), f"{stem}.txt", None, str(exc)
        else:
            data, name, rows, refusal = parquet_bytes(frame), f"{stem}.parquet", len(frame), ""
        partition = "" if materialization.partition is None else f"[{materialization.partition}]"
        delivery = Delivery(
            data=data,
            file_name=name,
            source=SOURCE,
            source_ref=f"asset:{self.name}{partition}#{materialization.storage_id}",
            arrived_at=materialization.at,
            rows=rows,
            details={
                "asset_key": self.name,
                "partition": materialization.partition,
                "storage_id": materialization.storage_id,
                "run_id": materialization.run_id,
                "materialized_at": materialization.at.isoformat(),
            },
        )
        return delivery, refusal


def land_delivery(
    delivery: Delivery,
    refusal: str,
    store: BatchStore,
    key_of: Callable[[datetime], str | None],
    spec: ProjectSpec,
) -> Landing:
    """Land one materialization's delivery in raw, as a pulled batch lands.

    A value that is not a table, or rows that fit no partition, are kept in quarantine with
    why, indexed under no partition: the source goes on, nothing is dropped.
    """
    failure = SchemaFailure("*", "not_a_table", refusal) if refusal else None
    partitions: list[str] = []
    if failure is None:
        try:
            partitions = partitions_of_bytes(
                delivery.data, delivery.file_name, delivery.arrived_at, key_of, spec
            )
        except ValueError as exc:
            failure = SchemaFailure(spec.dataset.time, "no_partition", str(exc))
    manifest, is_new = store.ingest(delivery, partitions)
    if failure is not None:
        outcome = ValidationOutcome(delivery.file_name, None, [failure], rows=delivery.rows or 0)
        store.quarantine(manifest, outcome.as_record())
    return Landing(manifest, is_new, quarantined=failure is not None)
