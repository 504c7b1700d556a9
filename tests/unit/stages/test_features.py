"""Unit tests of ct_assets/stages/features.py, the features stage: its pure helpers (how far
back the window features read, the definitions table the UI shows), on the examples' declarations.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from ct_assets.ml.feature_spec import window_spec
from ct_assets.stages.features import definitions_table, lookback_partitions
from tests.helpers.features import ENERGY, SHOP, declared


def test_the_lookback_is_the_longest_window_in_whole_partitions() -> None:
    # The shop's longest window is 7d: seven daily partitions, 168 hourly ones.
    assert lookback_partitions(SHOP) == 7
    hourly = declared("shop", {"partitions": {"granularity": "hourly"}})
    assert lookback_partitions(hourly) == 7 * 24
    # A window shorter than a partition still reaches into the one before.
    short = declared(
        "shop",
        {
            "features": {
                "windows": {
                    "aggregates": [{"column": "amount", "aggregations": ["sum"], "windows": ["1h"]}]
                }
            }
        },
    )
    assert lookback_partitions(short) == 1
    # Without an entity there are no windows and nothing earlier to read.
    assert lookback_partitions(ENERGY) == 0


def test_the_definitions_table_has_a_row_per_input_transform_and_window_feature() -> None:
    table = definitions_table(SHOP).splitlines()
    header, rows = table[0], table[2:]
    assert [c.strip() for c in header.strip("|").split("|")] == ["feature", "from", "how"]
    windows = window_spec(SHOP).features
    assert len(rows) == len(SHOP.features.columns) + len(SHOP.features.transforms) + len(windows)
    cells = {r.strip("|").split("|")[0].strip(): r for r in rows}
    assert "amount, n_items" in cells["amount_per_item"] and "ratio" in cells["amount_per_item"]
    assert "log1p" in cells["log_amount"]
    assert all(f.name in cells and f.window in cells[f.name] for f in windows)
