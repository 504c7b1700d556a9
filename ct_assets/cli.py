"""The `ct` command."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ct", description="Continuous training on Dagster.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the whole loop on the embedded default")
    demo.add_argument("--ui", action="store_true", help="also start the Dagster UI and keep it up")
    demo.add_argument("--port", type=int, default=3000, help="UI port on 127.0.0.1")
    quarantine = commands.add_parser("quarantine", help="list, show and re-admit refused batches")
    actions = quarantine.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every batch in quarantine with its rules")
    actions.add_parser("show", help="the full reason of one batch").add_argument("batch_id")
    actions.add_parser(
        "readmit", help="re-check a batch with the current schema and re-run its partition"
    ).add_argument("batch_id")
    features = commands.add_parser("features", help="the online feature store")
    feature_actions = features.add_subparsers(dest="action", required=True)
    get = feature_actions.add_parser("get", help="an entity's latest online feature vector")
    get.add_argument("entity")
    get.add_argument("--score", action="store_true", help="also score it with the champion")
    commands.add_parser("models", help="registered versions, aliases and the champion history")
    back = commands.add_parser("rollback", help="move the champion alias back")
    back.add_argument("--to", help="the version to serve (default: the one the champion replaced)")
    back.add_argument("--reason", default="manual rollback", help="recorded in the history")
    lineage = commands.add_parser("lineage", help="what a model version was made from")
    lineage_of = lineage.add_subparsers(dest="subject", required=True)
    model = lineage_of.add_parser("model", help="from a model version back to its raw batches")
    model.add_argument("version")
    model.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ct_assets.demo import run_demo

        reports = run_demo(ui_port=args.port if args.ui else None)
        return 1 if any(r.outcome.startswith("timed out") for r in reports) else 0
    if args.command == "quarantine":
        from rich.console import Console

        from ct_assets import quarantine as q
        from ct_assets.definitions import defs

        console = Console()
        if args.action == "list":
            return q.list_batches(console, q.batch_store(defs))
        if args.action == "show":
            return q.show_batch(console, q.batch_store(defs), args.batch_id)
        with q.instance_from_environment() as instance:
            return q.readmit_batch(console, defs, instance, args.batch_id)
    if args.command == "lineage":
        import json

        from rich.console import Console

        from ct_assets import quarantine as q
        from ct_assets.definitions import defs
        from ct_assets.lineage import as_tree, model_lineage
        from resources.environments import resolved_resources

        with (
            q.instance_from_environment() as instance,
            resolved_resources(defs, "mlflow", "batch_store") as res,
        ):
            try:
                found = model_lineage(instance, res.mlflow, res.batch_store, args.version)
            except LookupError as exc:
                print(exc)
                return 1
        if args.json:
            print(json.dumps(found, indent=2, default=str))
        else:
            Console().print(as_tree(found))
        return 0
    if args.command in ("models", "rollback"):
        from ct_assets import models_cli
        from ct_assets.definitions import defs

        if args.command == "models":
            return models_cli.list_models(defs)
        return models_cli.rollback(defs, args.reason, args.to)
    if args.command == "features":
        from ct_assets.definitions import defs
        from ct_assets.feature_cli import get_entity

        return get_entity(defs, args.entity, args.score)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
