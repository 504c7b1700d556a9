"""Unit tests of ct_assets/cli/status.py: the fleet's table.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ct_assets.cli.status import fleet_table


def summary(project: str, **values: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "project": project,
        "task": "binary",
        "metric": "roc_auc",
        "champion": None,
        "holdout": None,
        "live": None,
        "last_decision": None,
        "quarantined_batches": 0,
        "alerts": [],
        "newest_partition": None,
        "overdue": [],
        "daemon_running": True,
    }
    return {**empty, **values}


def shown(table: Any) -> list[str]:
    console = Console(width=400, record=True, color_system=None)
    console.print(table)
    # The table's lines as words, without its box drawing.
    drawn = str.maketrans({chr(c): " " for c in range(0x2500, 0x2580)})
    lines = (line.translate(drawn).split() for line in console.export_text().splitlines())
    return [" ".join(words) for words in lines if words]


def test_the_fleet_table_has_one_line_per_project() -> None:
    lines = shown(
        fleet_table(
            [
                summary(
                    "shop",
                    champion="3",
                    holdout=0.81234,
                    live=0.7,
                    last_decision={
                        "partition": "2026-01-03",
                        "decision": "promote",
                        "reason": "better",
                        "at": "2026-01-03T10:00:00+00:00",
                    },
                    quarantined_batches=2,
                    alerts=["drift 0.60 on 2026-01-03"],
                    newest_partition="2026-01-03",
                    overdue=["raw_batches"],
                ),
                summary("energy", task="regression", metric="rmse", daemon_running=False),
            ]
        )
    )
    assert lines[0] == "fleet: 2 project(s)"
    header = next(line for line in lines if line.startswith("project"))
    assert header.split() == [
        *("project", "task", "champion", "holdout", "live", "last", "decision"),
        *("quarantined", "alerts", "data", "through", "daemon"),
    ]
    shop = next(line for line in lines if line.startswith("shop"))
    assert shop == (
        "shop binary (roc_auc) v3 0.8123 0.7000 promote (2026-01-03 at "
        "2026-01-03T10:00:00+00:00): better 2 drift 0.60 on 2026-01-03 2026-01-03 overdue: "
        "raw_batches running"
    )
    energy = next(line for line in lines if line.startswith("energy"))
    assert energy == "energy regression (rmse) - - - - - - - not running"
