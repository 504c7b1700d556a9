"""Served predictions joined to their delayed labels: a label file read and checked, the join
by (request id, row), the metric per model version, and the table of every version's
prequential and served figures per partition that live monitoring shows. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml.live_score import (
    NAN,
    REQUEST_ID,
    ROW,
    measured,
)
from ct_assets.ml.records import LiveScore


def read_labels(frame: pd.DataFrame, label: str, what: str) -> pd.DataFrame:
    """A delayed-label file as (request_id, row, label); raises ValueError naming the problem."""
    missing = [c for c in (REQUEST_ID, label) if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: no column {', '.join(missing)} (columns: {list(frame.columns)})")
    out = pd.DataFrame({REQUEST_ID: frame[REQUEST_ID].astype(str)})
    if ROW in frame.columns:
        rows = pd.to_numeric(frame[ROW], errors="coerce")
        bad = np.flatnonzero(rows.isna().to_numpy() | (rows % 1 != 0).to_numpy())
        if len(bad):
            raise ValueError(f"{what}: row {int(bad[0])}, column {ROW}: not a whole number")
        out[ROW] = rows.astype("int64")
    else:
        out[ROW] = 0
    out["label"] = frame[label].to_numpy()
    empty = np.flatnonzero(out["label"].isna().to_numpy() | (out[REQUEST_ID] == "").to_numpy())
    if len(empty):
        raise ValueError(f"{what}: row {int(empty[0])}: request_id or {label} is empty")
    return out


def join_labels(answers: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Logged answers with their labels, by (request_id, row); a label given twice counts once
    (the last file wins: a correction)."""
    latest = labels.drop_duplicates([REQUEST_ID, ROW], keep="last")
    keyed = answers.astype({REQUEST_ID: str, ROW: "int64"})
    return keyed.merge(latest, on=[REQUEST_ID, ROW], how="inner")


def per_version(
    joined: pd.DataFrame, metric: str, by: Sequence[str] = ("model_version",)
) -> dict[str, dict[str, Any]]:
    """The metric and row count of each model version (or version and route) on labeled rows."""
    out: dict[str, dict[str, Any]] = {}
    if joined.empty:
        return out
    for key, group in joined.groupby(list(by), sort=True):
        name = "/".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        labels = group["label"].to_numpy(dtype=float)
        out[name] = {
            "rows": len(group),
            metric: measured(metric, labels, group["output"].to_numpy(dtype=float)),
        }
    return out


LIVE_COLUMNS = (
    "version",
    "partition",
    "prequential",
    "prequential_rows",
    "served",
    "served_rows",
    "baseline",
)


def live_table(
    champion: Mapping[str, LiveScore],
    served: Mapping[str, Mapping[str, Any]],
    metric: str,
) -> pd.DataFrame:
    """One row per (version, partition): the prequential and the served metric, the baseline.

    `champion`: partition -> its champion_performance record; `served`: partition -> {version:
    {"rows", metric}}.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(version: str, partition: str) -> dict[str, Any]:
        empty = {"prequential": NAN, "prequential_rows": 0, "served": NAN, "served_rows": 0}
        return rows.setdefault(
            (version, partition),
            {"version": version, "partition": partition, **empty, "baseline": NAN},
        )

    for partition, score in champion.items():
        version = score.champion_version
        if version is None:
            continue
        r = row(version, partition)
        r["prequential"] = score.champion
        r["prequential_rows"] = score.rows
        r["baseline"] = score.baseline
        if score.baking and score.previous_version is not None:
            p = row(score.previous_version, partition)
            p["prequential"] = score.previous
            p["prequential_rows"] = score.rows
    for partition, versions in served.items():
        for version, figures in versions.items():
            r = row(str(version), partition)
            r["served"] = figures.get(metric, NAN)
            r["served_rows"] = figures.get("rows", 0)
    table = pd.DataFrame(list(rows.values()), columns=LIVE_COLUMNS)
    if table.empty:
        return table
    # Versions ordered as numbers (v10 after v9), then partitions in time order.
    order = pd.to_numeric(table["version"], errors="coerce")
    return (
        table.assign(_order=order)
        .sort_values(["_order", "version", "partition"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
