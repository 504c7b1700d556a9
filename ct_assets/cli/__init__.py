"""The `ct` command: one module per subcommand, each with `register(subparsers)`.

Command modules import what they run inside their `run` function, so `ct --help` and light
commands do not pay for Dagster, MLflow or LightGBM imports they never use.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from ct_assets.ingest.refusals import StorageError
from ct_assets.project.load import ProjectError

COMMANDS = (
    "init",
    "check",
    "config",
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
# Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_VARIABLE = "CT_DEBUG"
# The shell's exit status for a process stopped by SIGINT (128 + 2).
INTERRUPTED = 130


PROJECT_HELP = (
    "the project folder holding ct.yaml (default: $CT_PROJECT, else the current one); in a "
    "fleet, a project's name or folder"
)
FLEET_HELP = (
    "a folder of projects run side by side on one instance (default: $CT_FLEET); --project "
    "then picks one of them"
)


def project_option(parser: argparse.ArgumentParser) -> None:
    """`--project DIR` and `--fleet DIR` on a (sub)command. Absent from the command line they
    set nothing, so one given before the command name (`ct --fleet DIR status`) is kept."""
    parser.add_argument(
        "--project", metavar="NAME|DIR", default=argparse.SUPPRESS, help=PROJECT_HELP
    )
    parser.add_argument("--fleet", metavar="DIR", default=argparse.SUPPRESS, help=FLEET_HELP)
    parser.set_defaults(takes_project=True)


def command_parser(
    commands: Any, name: str, *, summary: str, description: str, examples: Sequence[str]
) -> argparse.ArgumentParser:
    """A (sub)command's parser: `summary` in the list of commands, `description` as the
    paragraph of its --help, and the example command lines after its options."""
    shown = "\n".join(f"  {line}" for line in examples)
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        # Raw: the example lines keep their layout, so the paragraph is wrapped here.
        description=textwrap.fill(" ".join(description.split()), width=88),
        epilog=f"Example{'s' if len(examples) > 1 else ''}:\n{shown}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def port(text: str) -> int:
    """An argparse type: a TCP port, refused as a usage error before anything starts."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65_535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1 to 65535)")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ct")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ct", description="Continuous training on Dagster.")
    parser.add_argument("--version", action="version", version=f"ct {_version()}")
    # Also accepted after the command name, where they win (see `project_option`).
    parser.add_argument("--project", metavar="NAME|DIR", help=PROJECT_HELP)
    parser.add_argument("--fleet", metavar="DIR", help=FLEET_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ct_assets.cli.{name}").register(commands)
    return parser


def unexpected(command: str, exc: BaseException) -> str:
    """One line for an error no command foresaw: its type, the first line of its message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = f": {lines[0]}{' ...' if len(lines) > 1 else ''}" if lines else ""
    return f"ct {command}: {type(exc).__name__}{message} ({DEBUG_VARIABLE}=1 shows the traceback)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "takes_project", False):
        for option in ("project", "fleet"):
            if getattr(args, option) is not None:
                parser.error(f"ct {args.command} takes no --{option}")
    try:
        return int(args.run(args))
    except (ProjectError, StorageError) as exc:
        print(f"ct {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        print(unexpected(args.command, exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
