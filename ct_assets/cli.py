"""The `ct` command."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ct", description="Continuous training on Dagster.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the whole loop on the embedded default")
    demo.add_argument("--ui", action="store_true", help="also start the Dagster UI and keep it up")
    demo.add_argument("--port", type=int, default=3000, help="UI port on 127.0.0.1")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ct_assets.demo import run_demo

        reports = run_demo(ui_port=args.port if args.ui else None)
        return 1 if any(r.outcome.startswith("timed out") for r in reports) else 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
