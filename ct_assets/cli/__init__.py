"""The `ct` command: one module per subcommand, each with `register(subparsers)`.

Command modules import what they run inside their `run` function, so `ct --help` and light
commands do not pay for Dagster, MLflow or LightGBM imports they never use.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ct_assets.project.load import ProjectError

COMMANDS = (
    "init",
    "check",
    "up",
    "status",
    "demo",
    "quarantine",
    "features",
    "models",
    "lineage",
    "serve",
    "predict",
)


def project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="the project folder holding ct.yaml (default: $CT_PROJECT, else the current one)",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ct")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ct", description="Continuous training on Dagster.")
    parser.add_argument("--version", action="version", version=f"ct {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ct_assets.cli.{name}").register(commands)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ProjectError as exc:
        print(f"ct {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
