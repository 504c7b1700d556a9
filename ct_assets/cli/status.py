"""`ct status [--json]`: per partition, what landed, what was refused, what serves; for a
fleet, one line per project."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ct_assets.cli import command_parser, project_option
from ct_assets.cli.context import (
    chosen_project,
    definitions_of,
    fleet_of,
    instance_of,
    project_of,
    resources_of,
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "status",
        summary="per partition: landed, quarantined, features, candidates, decision",
        description="""One row per partition: rows validated, delivered and where they went,
        batches quarantined with their rules, feature rows, candidate versions, drift share, the
        decision and its reason, and the champion after it with its holdout and live metric;
        then each champion's holdout figure against what it did live, and every move of the
        champion alias. Reads the project's instance; `ct up` creates it. With --fleet (or
        CT_FLEET) and no --project: one line per project of the fleet, its champion with its
        holdout and live metric, its last decision, quarantine, alerts and freshness.""",
        examples=[
            "ct status",
            "ct status --project proj --json",
            "ct status --fleet projects",
            "ct status --fleet projects --project churn",
        ],
    )
    project_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def gather(project: Any) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    from ct_assets.reads.status import (
        champion_moves,
        champions,
        freshness_states,
        project_status,
        watched_keys,
    )

    defs, namespace = definitions_of(project), project.namespace
    with (
        resources_of(project, defs, "batch_store", "mlflow") as res,
        instance_of(project) as instance,
    ):
        quarantine = res.batch_store.all_quarantined()
        rows = project_status(instance, project.spec, quarantine, namespace)
        watched = watched_keys(namespace, list(project.spec.sources.pulled))
        freshness = freshness_states(instance, watched)
        daemon = daemon_state(project, instance)
        champion = res.mlflow.champion_version()
        try:
            moves = champion_moves(res.mlflow.history()) if champion else []
        except MlflowException:
            moves = []  # no registered model yet: nothing has moved
    return {
        "project": project.spec.name,
        "root": str(project.root),
        "task": project.spec.task.type,
        "metric": project.spec.metric,
        "registered_model": project.spec.model_name,
        "champion": champion,
        "partitions": rows,
        "champions": champions(rows, project.spec.metric),
        "moves": moves,
        "freshness": freshness,
        "daemon": daemon,
    }


def daemon_state(project: Any, instance: Any) -> dict[str, Any]:
    """Whether a daemon runs on the project's instance: its owner (from the instance's lock,
    held by the `ct up` that started it) and the age of the daemon's newest heartbeat."""
    import time

    from ct_assets.cli.ownership import live_owner
    from resources.environments import resolve

    owner = live_owner(resolve(project).dagster_home)
    beats = [b.timestamp for b in instance.get_daemon_heartbeats().values()]
    return {
        "running": owner is not None,
        "pid": owner.pid if owner else None,
        "since": owner.since if owner else None,
        "command": owner.command if owner else None,
        "heartbeat_age_seconds": round(time.time() - max(beats), 1) if beats else None,
    }


def daemon_line(daemon: dict[str, Any]) -> str:
    age = daemon["heartbeat_age_seconds"]
    beat = "no heartbeat yet" if age is None else f"last heartbeat {age:.0f} s ago"
    if daemon["running"]:
        owner = f"pid {daemon['pid']} ({daemon['command']}) since {daemon['since']}"
        return f"daemon: running, {owner}; {beat}"
    return f"daemon: [yellow]not running[/] (`ct up` starts it); {beat}"


def table(status: dict[str, Any]) -> Any:
    from rich.table import Table

    metric = status["metric"]
    shown = Table(
        title=f"{status['project']}: {status['task']} on {metric}; champion "
        f"v{status['champion'] or '-'} of {status['registered_model']}"
    )
    for column in (
        "partition",
        "rows",
        "delivered (valid/aside/refused)",
        "quarantined",
        "features",
        "candidates",
        "drift",
        "decision",
        "champion",
        metric,
        f"live {metric}",
        "retrain",
    ):
        shown.add_column(column, overflow="fold")
    for row in status["partitions"]:
        held = "; ".join(quarantined(q) for q in row["quarantined"]) or "-"
        value = row[f"champion_{metric}"]
        decision = row["decision"] or "-"
        if row["reason"]:
            decision = f"{decision}: {row['reason']}"
        shown.add_row(
            row["partition"],
            "-" if row["rows"] is None else str(row["rows"]),
            delivered(row),
            held,
            "-" if row["features"] is None else str(row["features"]),
            ", ".join(f"v{v}" for v in row["candidates"]) or "-",
            "-" if row["drift_share"] is None else f"{row['drift_share']:.2f}",
            decision,
            f"v{row['champion']}" if row["champion"] else "-",
            "-" if value is None else f"{value:.4f}",
            live_cell(row, metric),
            row.get("retrain_trigger") or "-",
        )
    return shown


def quarantined(held: dict[str, Any]) -> str:
    rules = ", ".join(held["rules"])
    if held.get("kind") == "set_aside":
        return f"{held['file']}: {held.get('rows_set_aside') or 0} row(s) set aside ({rules})"
    return f"{held['file']}: {rules}"


def live_cell(row: dict[str, Any], metric: str) -> str:
    """The champion's live figure on the partition, red where a live check failed there."""
    live = row.get(f"live_{metric}")
    if live is None:
        return "-"
    text = f"{live:.4f} (v{row['live_champion']})"
    flags = [
        word
        for key, word in (
            ("live_degraded", "degraded"),
            ("evaluation_gap_exceeded", "holdout missed"),
            ("label_shifted", "label shift"),
        )
        if row.get(key)
    ]
    if not flags:
        return text
    colour = "red" if row.get("live_degraded") or row.get("evaluation_gap_exceeded") else "yellow"
    return f"[{colour}]{text} {', '.join(flags)}[/]"


def champions_table(status: dict[str, Any]) -> Any:
    """Per champion: the holdout figure that promoted it against what it did live."""
    from rich.table import Table

    metric = status["metric"]
    shown = Table(title=f"champions: holdout {metric} at promotion vs live")
    for column in ("version", "holdout", "first live", "gap", "live mean", "partitions", "verdict"):
        shown.add_column(column, overflow="fold")
    for c in status["champions"]:
        gap = c["first_gap"]
        missed = c["evaluation_gap_exceeded"]
        degraded = c["live_degraded_partitions"]
        verdict = (
            "[red]holdout missed its first live partitions[/]"
            if missed
            else f"[red]degraded on {', '.join(degraded)}[/]"
            if degraded
            else "holds"
        )
        shown.add_row(
            f"v{c['version']}",
            "-" if c["holdout"] is None else f"{c['holdout']:.4f}",
            f"{c['first_live']:.4f} ({c['first_live_partition']})",
            "-" if gap is None else f"{gap:+.4f}",
            f"{c['live_mean']:.4f}",
            str(c["partitions"]),
            verdict,
        )
    return shown


def delivered(row: dict[str, Any]) -> str:
    """Rows delivered for a partition and where they went: validated, set aside, refused
    whole (a materialization from before these were counted shows none)."""
    if row.get("rows_delivered") is None:
        return "-"
    return (
        f"{row['rows_delivered']} ({row['rows']}/{row.get('rows_set_aside') or 0}/"
        f"{row.get('rows_refused') or 0})"
    )


def moves_table(status: dict[str, Any]) -> Any:
    from rich.table import Table

    shown = Table(title="champion moves")
    for column in ("at", "move", "version", "reason"):
        shown.add_column(column, overflow="fold")
    for move in status["moves"]:
        before = f"v{move['from']} -> " if move.get("from") else ""
        shown.add_row(str(move["at"]), move["kind"], f"{before}v{move['to']}", move["reason"])
    return shown


def fleet_table(summaries: list[dict[str, Any]]) -> Any:
    """One line per project of a fleet: its champion and figures, its last decision, its
    quarantine, its alerts, how far its data goes and whether its daemon runs."""
    from rich.table import Table

    shown = Table(title=f"fleet: {len(summaries)} project(s)")
    for column in (
        "project",
        "task",
        "champion",
        "holdout",
        "live",
        "last decision",
        "quarantined",
        "alerts",
        "data through",
        "daemon",
    ):
        shown.add_column(column, overflow="fold")
    for row in summaries:
        shown.add_row(
            row["project"],
            f"{row['task']} ({row['metric']})",
            f"v{row['champion']}" if row["champion"] else "-",
            figure(row["holdout"]),
            figure(row["live"]),
            decision_cell(row["last_decision"]),
            str(row["quarantined_batches"]) if row["quarantined_batches"] else "-",
            "[red]" + "; ".join(row["alerts"]) + "[/]" if row["alerts"] else "-",
            freshness_cell(row),
            "running" if row["daemon_running"] else "[yellow]not running[/]",
        )
    return shown


def figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def decision_cell(decided: dict[str, Any] | None) -> str:
    if decided is None:
        return "-"
    at = f" at {decided['at']}" if decided.get("at") else ""
    return f"{decided['decision']} ({decided['partition']}{at}): {decided['reason']}"


def freshness_cell(row: dict[str, Any]) -> str:
    """The newest partition with features, and what is overdue (red)."""
    newest = row["newest_partition"] or "-"
    if not row["overdue"]:
        return newest
    return f"{newest} [red]overdue: {', '.join(row['overdue'])}[/]"


def fleet_status(fleet: Any) -> dict[str, Any]:
    """Every project of the fleet, each gathered as `ct status` gathers one, summed up."""
    from ct_assets.reads.status import project_summary
    from resources.environments import resolve

    statuses = [gather(project) for project in fleet.projects]
    return {
        "fleet": str(fleet.root),
        "instance": str(resolve(fleet.projects[0]).dagster_home),
        "projects": [project_summary(status) for status in statuses],
        "daemon": statuses[0]["daemon"],
    }


def console() -> Any:
    from rich.console import Console

    # Wide enough to read even when output goes to a file or a CI log.
    return Console() if Console().is_terminal else Console(width=180)


def run(args: argparse.Namespace) -> int:
    import os

    fleet = fleet_of(args)
    if fleet is not None and chosen_project(args, os.environ) is None:
        shown = fleet_status(fleet)
        if args.json:
            print(json.dumps(shown, indent=2, default=str))
            return 0
        out = console()
        out.print(daemon_line(shown["daemon"]))
        out.print(fleet_table(shown["projects"]))
        return 0
    status = gather(project_of(args))
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0
    out = console()
    out.print(daemon_line(status["daemon"]))
    out.print(table(status))
    if status["champions"]:
        out.print(champions_table(status))
    if status["moves"]:
        out.print(moves_table(status))
    return 0
