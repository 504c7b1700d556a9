"""`ct check [FILE...]`: is ct.yaml valid, and would these files pass (and which of their rows
would be set aside)? Touches no instance."""

from __future__ import annotations

import argparse
from pathlib import Path

from ct_assets.cli import project_option
from ct_assets.cli.context import project_of


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "check", help="validate ct.yaml, and files against it, as quarantine would judge them"
    )
    project_option(parser)
    parser.add_argument("files", nargs="*", type=Path, help="delivered files to check")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ct_assets.ingest.parsing import check_file

    project = project_of(args)
    spec = project.spec
    print(
        f"{project.file}: valid ({spec.task.type} on {spec.dataset.label!r}, "
        f"{len(spec.dataset.columns)} columns, {len(spec.feature_names)} features)"
    )
    refused = 0
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file")
            refused += 1
            continue
        outcome = check_file(path, spec).located(project.locate)
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
