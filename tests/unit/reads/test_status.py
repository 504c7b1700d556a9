"""Unit tests of ct_assets/reads/status.py: a project of a fleet summed up in one line.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ct_assets.names import Namespace
from ct_assets.reads.status import alerts, champion_figures, project_summary, watched_keys


def row(partition: str, **values: Any) -> dict[str, Any]:
    """A partition row as `partition_row` gives it, with nothing recorded but `values`."""
    empty: dict[str, Any] = {
        "partition": partition,
        "quarantined": [],
        "features": None,
        "drift_share": None,
        "drift_exceeded": None,
        "decision": None,
        "reason": None,
        "decided_at": None,
        "champion": None,
        "champion_roc_auc": None,
        "live_champion": None,
        "live_roc_auc": None,
        "live_baseline_roc_auc": None,
        "live_degraded": None,
        "evaluation_gap_exceeded": None,
        "label_shifted": None,
    }
    return {**empty, **values}


def held(batch_id: str) -> dict[str, Any]:
    return {"batch_id": batch_id, "file": f"{batch_id}.csv", "rules": ["missing_column"]}


ROWS = [
    row(
        "2026-01-01",
        features=1500,
        decision="promote",
        reason="first champion",
        decided_at="2026-01-01T10:00:00+00:00",
        champion="1",
        champion_roc_auc=0.81,
    ),
    row(
        "2026-01-02",
        features=1500,
        quarantined=[held("b2")],
        drift_share=0.1,
        drift_exceeded=False,
        live_champion="1",
        live_roc_auc=0.78,
        live_baseline_roc_auc=0.81,
        live_degraded=False,
    ),
    row(
        "2026-01-03",
        features=1400,
        quarantined=[held("b3"), held("b2")],
        drift_share=0.6,
        drift_exceeded=True,
        decision="keep champion",
        reason="margin gate failed",
        decided_at="2026-01-03T10:00:00+00:00",
        champion="1",
        champion_roc_auc=0.81,
        live_champion="1",
        live_roc_auc=0.7,
        live_baseline_roc_auc=0.81,
        live_degraded=True,
    ),
    # Landed, refused whole: no features.
    row("2026-01-04", quarantined=[held("b4")]),
]


def status(rows: list[dict[str, Any]], champion: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "project": "shop",
        "task": "binary",
        "metric": "roc_auc",
        "registered_model": "shop",
        "champion": champion,
        "partitions": rows,
        "freshness": {},
        "daemon": {"running": True},
        **extra,
    }


def test_a_project_is_summed_up_from_its_partitions() -> None:
    freshness = {"sources/file_drop": "pass", "raw_batches": "fail", "production_model": "warn"}
    summary = project_summary(status(ROWS, "1", freshness=freshness))
    assert summary == {
        "project": "shop",
        "task": "binary",
        "metric": "roc_auc",
        "registered_model": "shop",
        "champion": "1",
        "holdout": 0.81,
        "live": 0.7,
        "last_decision": {
            "partition": "2026-01-03",
            "decision": "keep champion",
            "reason": "margin gate failed",
            "at": "2026-01-03T10:00:00+00:00",
        },
        "quarantined_batches": 3,
        "alerts": [
            "live roc_auc degraded on 2026-01-03 (v1)",
            "drift 0.60 on 2026-01-03",
            "raw_batches overdue (fail)",
            "production_model overdue (warn)",
        ],
        "newest_partition": "2026-01-03",
        "overdue": ["production_model", "raw_batches"],
        "daemon_running": True,
    }


def test_a_project_with_nothing_yet_has_an_empty_line() -> None:
    summary = project_summary(status([], None, daemon={"running": False}))
    assert summary["champion"] is None and summary["last_decision"] is None
    assert (summary["holdout"], summary["live"]) == (None, None)
    assert summary["quarantined_batches"] == 0 and summary["alerts"] == []
    assert summary["newest_partition"] is None and summary["daemon_running"] is False


def test_only_the_newest_judgement_of_each_alert_counts() -> None:
    recovered = [
        *ROWS[:3],
        row(
            "2026-01-05",
            drift_share=0.05,
            drift_exceeded=False,
            live_champion="1",
            live_roc_auc=0.8,
            live_degraded=False,
            label_shifted=True,
        ),
    ]
    assert alerts(recovered, "roc_auc", {"raw_batches": "pass"}) == [
        "label shift on 2026-01-05 (v1)"
    ]


def test_the_champion_s_figures_are_its_own_not_the_previous_champion_s() -> None:
    rows = [
        *ROWS[:3],
        row("2026-01-05", decision="promote", reason="better", champion="2", champion_roc_auc=0.9),
    ]
    # v2 was never scored live yet.
    assert champion_figures(rows, "roc_auc", "2") == (0.9, None)
    assert champion_figures(rows, "roc_auc", "1") == (0.81, 0.7)
    # A champion forced in by hand: its holdout is the live checks' baseline.
    forced = [row("2026-01-06", live_champion="7", live_roc_auc=0.6, live_baseline_roc_auc=0.75)]
    assert champion_figures(forced, "roc_auc", "7") == (0.75, 0.6)
    assert champion_figures(rows, "roc_auc", None) == (None, None)


def test_freshness_is_read_for_the_project_s_own_keys() -> None:
    watched = watched_keys(Namespace.of("shop"), ["orders"])
    assert watched == {
        "sources/file_drop": dg.AssetKey(["shop", "sources", "file_drop"]),
        "sources/orders": dg.AssetKey(["shop", "sources", "orders"]),
        "raw_batches": dg.AssetKey(["shop", "raw_batches"]),
        "validated_batches": dg.AssetKey(["shop", "validated_batches"]),
        "production_model": dg.AssetKey(["shop", "production_model"]),
    }
    assert watched_keys(Namespace(), [])["raw_batches"] == dg.AssetKey("raw_batches")
