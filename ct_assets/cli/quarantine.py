"""`ct quarantine`: list, show and re-admit refused batches and the rows batches set aside."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ct_assets.cli import command_parser, project_option
from ct_assets.cli.context import definitions_of, instance_of, project_of, resources_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "quarantine",
        summary="list, show and re-admit refused batches and set-aside rows",
        description="""The batches ingest refused whole, and the rows it set aside from batches
        that passed, each with the rules it broke: list them, show one's full reason, or
        re-admit one once the schema (or the data) is fixed.""",
        examples=["ct quarantine list", "ct quarantine readmit BATCH_ID"],
    )
    project_option(parser)
    actions = parser.add_subparsers(dest="action", required=True)
    listed = command_parser(
        actions,
        "list",
        summary="every batch in quarantine (refused whole, or rows set aside) with its rules",
        description="""Every quarantined batch: its partitions, file, whether it was refused
        whole or had rows set aside, how many rows, the rules broken, and when.""",
        examples=["ct quarantine list"],
    )
    shown = command_parser(
        actions,
        "show",
        summary="the full reason of one batch",
        description="""One quarantined batch's record as JSON: every failure with its column,
        rule and lines, and where its raw bytes are kept.""",
        examples=["ct quarantine show BATCH_ID"],
    )
    readmitted = command_parser(
        actions,
        "readmit",
        summary="re-check a batch with the current schema and re-run its partition",
        description="""Check a quarantined batch again against the current ct.yaml; if it now
        passes (or sets fewer rows aside), re-run its partitions from validation on, which
        releases it from the quarantine. Exits 1 if it is still refused.""",
        examples=["ct quarantine readmit BATCH_ID"],
    )
    for action in (listed, shown, readmitted):
        project_option(action)
    for action in (shown, readmitted):
        action.add_argument("batch_id", help="as `ct quarantine list` shows it")
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
    with resources_of(project, defs, "batch_store") as res:
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
    from ct_assets.ingest.parsing import check_bytes
    from ct_assets.names import VALIDATED_BATCHES

    with resources_of(project, defs, "batch_store") as res:
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
    selection = project.namespace.selection(VALIDATED_BATCHES).downstream()
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
                tags=project.namespace.run_tags,
                raise_on_error=False,
            )
            console.print(f"run {result.run_id}: {'success' if result.success else 'failure'}")
            failed += not result.success
    return 1 if failed else 0
