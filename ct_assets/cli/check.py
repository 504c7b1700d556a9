"""`ct check [FILE...]`: is ct.yaml valid, and would these files pass (and which of their rows
would be set aside)? Touches no instance."""

from __future__ import annotations

import argparse
from pathlib import Path

from ct_assets.cli import command_parser, project_option
from ct_assets.cli.context import project_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "check",
        summary="validate ct.yaml, and files against it, as quarantine would judge them",
        description="""Validate ct.yaml and, optionally, delivered files against it exactly as
        the quarantine would judge them: a refused file is named with its rules, and rows that
        would be set aside are listed with their lines (the file still passes). Touches no
        instance; exits 1 when the project or a file is refused.""",
        examples=["ct check", "ct check landing/day-2026-11-20.csv exports/*.parquet"],
    )
    project_option(parser)
    parser.add_argument("files", nargs="*", type=Path, help="delivered files to check")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ct_assets.ingest.parsing import check_file
    from ct_assets.stages.validated import project_placer

    project = project_of(args)
    spec = project.spec
    print(
        f"{project.file}: valid ({spec.task.type} on {spec.dataset.label!r}, "
        f"{len(spec.dataset.columns)} columns, {len(spec.feature_names)} features)"
    )
    refused = 0
    # Rows are placed in partitions as ingest places them: one outside every partition the
    # project has (before partitions.start, say) is set aside here as it would be there.
    place = project_placer(spec) if args.files else None
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file")
            refused += 1
            continue
        outcome = check_file(path, spec, place=place).located(project.locate)
        if outcome.ok:
            rows = 0 if outcome.frame is None else len(outcome.frame)
            if outcome.set_aside is None:
                print(f"{path}: ok, {rows} rows")
                continue
            # A few bad rows do not refuse a file: the quarantine sets them aside, the rest
            # goes on (exit 0), and they are named here as they would be there.
            held = outcome.set_aside
            print(
                f"{path}: ok, {rows} rows; {held.rows} of {outcome.rows} set aside "
                f"({', '.join(held.rules)})"
            )
            for failure in held.failures:
                print(f"  - {failure.describe()}")
        else:
            refused += 1
            print(f"{path}: refused ({', '.join(outcome.as_record()['rules'])})")
            if outcome.share:
                print(f"  {outcome.share}")
            for failure in outcome.failures:
                print(f"  - {failure.describe()}")
    return 1 if refused else 0
