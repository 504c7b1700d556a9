"""`ct quarantine`: list, show and re-admit refused batches and the rows batches set aside."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ct_assets.cli import project_option
from ct_assets.cli.context import definitions_of, instance_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "quarantine", help="list, show and re-admit refused batches and set-aside rows"
    )
    project_option(parser)
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "list", help="every batch in quarantine (refused whole, or rows set aside) with its rules"
    )
    actions.add_parser("show", help="the full reason of one batch").add_argument("batch_id")
    actions.add_parser(
        "readmit", help="re-check a batch with the current schema and re-run its partition"
    ).add_argument("batch_id")
    parser.set_defaults(run=run)


def find(records: list[dict[str, Any]], batch_id: str) -> dict[str, Any] | None:
    return next((r for r in records if r["batch_id"] == batch_id), None)


def held_rows(record: dict[str, Any]) -> str:
    """How many rows the record holds: some of the batch's, or all of them."""
    delivered = record.get("rows_delivered")
    if record["kind"] == "set_aside":
        return f"{record['rows_set_aside']} of {delivered}"
    return "all" if delivered is None else f"all {delivered}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    project = project_of(args)
    defs = definitions_of(project)
    with resources_of(defs, "batch_store") as res:
        records = res.batch_store.all_quarantined()
    if args.action == "list":
        table = Table(title=f"{len(records)} quarantined batch(es)")
        for column in ("partitions", "batch id", "file", "kind", "rows", "rules", "quarantined at"):
            table.add_column(column, overflow="fold")
        for r in records:
            table.add_row(
                ", ".join(r["partitions"]),
                r["batch_id"],
                r["file"],
                "set aside" if r["kind"] == "set_aside" else "refused",
                held_rows(r),
                ", ".join(r.get("rules", [])),
                r["quarantined_at"],
            )
        console.print(table)
        return 0
    record = find(records, args.batch_id)
    if record is None:
        print(
            f"no quarantined batch {args.batch_id!r}; `ct quarantine list` shows them",
            file=sys.stderr,
        )
        return 1
    if args.action == "show":
        console.print_json(json.dumps(record))
        return 0
    return readmit(console, project, defs, record)


def readmit(console: Any, project: Any, defs: Any, record: dict[str, Any]) -> int:
    """Re-check a batch with the current schema; if it passes (a batch with rows set aside: if
    fewer rows are set aside now), re-run its partitions, which release the record."""
    import dagster as dg

    from ct_assets.ingest.parsing import check_bytes
    from ct_assets.names import VALIDATED_BATCHES

    with resources_of(defs, "batch_store") as res:
        data = res.batch_store.path_of(record["raw_path"]).read_bytes()
    outcome = check_bytes(data, project.spec, record["file"]).located(project.locate)
    if not outcome.ok:
        console.print(f"[red]still refused[/]: {outcome.reason()}")
        return 1
    if record.get("kind") == "set_aside" and outcome.set_aside is not None:
        # Rows outside the batch's partitions are judged by its runs, not by this check.
        before = record["rows_set_aside"] - record.get("rows_unplaced", 0)
        if outcome.set_aside.rows - outcome.set_aside.unplaced >= before:
            console.print(f"[red]still set aside[/]: {outcome.set_aside_reason()}")
            return 1
    job = defs.resolve_implicit_global_asset_job_def()
    selection = dg.AssetSelection.assets(VALIDATED_BATCHES).downstream()
    failed = 0
    with instance_of(project) as instance:
        for partition in record["partitions"]:
            console.print(
                f"{record['batch_id']} now passes; re-running {partition} from {VALIDATED_BATCHES}"
            )
            result = job.execute_in_process(
                partition_key=partition,
                instance=instance,
                asset_selection=list(selection.resolve(defs.resolve_asset_graph())),
                raise_on_error=False,
            )
            console.print(f"run {result.run_id}: {'success' if result.success else 'failure'}")
            failed += not result.success
    return 1 if failed else 0
