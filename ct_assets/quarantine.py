"""`ct quarantine`: list, show and re-admit refused batches."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console
from rich.table import Table

from ct_assets.ml.parsing import check_file
from ct_assets.settings import load_settings
from ct_assets.validated import VALIDATED_BATCHES
from resources.environments import resolved_resources
from resources.storage import BatchStore


def batch_store(defs: dg.Definitions) -> BatchStore:
    """The batch store as a run sees it: in production its directory is an EnvVar
    (CT_DATA_DIR), which only resolving the resource turns into the path."""
    with resolved_resources(defs, "batch_store") as resources:
        store = resources.batch_store
    assert isinstance(store, BatchStore)
    return store


def find(store: BatchStore, batch_id: str) -> dict[str, Any]:
    for record in store.all_quarantined():
        if record["batch_id"] == batch_id:
            return record
    raise SystemExit(f"no quarantined batch {batch_id!r}; `ct quarantine list` shows them")


def list_batches(console: Console, store: BatchStore) -> int:
    records = store.all_quarantined()
    table = Table(title=f"{len(records)} quarantined batch(es)")
    for column in ("partitions", "batch id", "file", "rules", "quarantined at"):
        table.add_column(column, overflow="fold")
    for r in records:
        rules = ", ".join(r.get("rules", []))
        partitions = ", ".join(r["partitions"])
        table.add_row(partitions, r["batch_id"], r["file"], rules, r["quarantined_at"])
    console.print(table)
    return 0


def show_batch(console: Console, store: BatchStore, batch_id: str) -> int:
    console.print_json(json.dumps(find(store, batch_id)))
    return 0


def readmit_batch(
    console: Console, defs: dg.Definitions, instance: dg.DagsterInstance, batch_id: str
) -> int:
    """Re-check a batch with the current schema; if it passes, re-run its partition."""
    record = find(batch_store(defs), batch_id)
    outcome = check_file(Path(record["raw_path"]), record["file"])
    if not outcome.ok:
        console.print(f"[red]still refused[/]: {outcome.reason()}")
        return 1
    job = defs.resolve_implicit_global_asset_job_def()
    selection = dg.AssetSelection.assets(VALIDATED_BATCHES).downstream()
    failed = 0
    for partition in record["partitions"]:
        console.print(f"{batch_id} now passes; re-running {partition} from {VALIDATED_BATCHES}")
        result = job.execute_in_process(
            partition_key=partition,
            instance=instance,
            asset_selection=list(selection.resolve(defs.resolve_asset_graph())),
            raise_on_error=False,
        )
        console.print(f"run {result.run_id}: {'success' if result.success else 'failure'}")
        failed += not result.success
    return 1 if failed else 0


def instance_from_environment() -> dg.DagsterInstance:
    """The instance the pipeline runs on: $DAGSTER_HOME, else the local default's."""
    if "DAGSTER_HOME" not in os.environ:
        home = load_settings().dagster_home
        if not (home / "dagster.yaml").exists():
            raise SystemExit("set DAGSTER_HOME to the instance the pipeline runs on")
        os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
