"""Unit tests of ct_assets/stages/evaluations.py, the evaluations stage: the slice table it
shows, one metric column per model.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

from ct_assets.ml.contracts import Scored
from ct_assets.stages.evaluations import slices_table


def test_the_slice_table_has_a_row_per_slice_and_a_column_per_model() -> None:
    champion = Scored(
        version="1",
        family="lightgbm",
        metrics={"auc": 0.8},
        slices=[
            {"column": "country", "value": "DE", "rows": 500, "auc": 0.7},
            {"column": "country", "value": "FR", "rows": 20, "auc": None},
        ],
    )
    candidate = Scored(
        version="2",
        family="sklearn_linear",
        metrics={"auc": 0.85},
        slices=[{"column": "country", "value": "DE", "rows": 500, "auc": 0.75}],
    )
    table = slices_table({"v1": champion, "v2": candidate}, "auc")
    assert list(table.columns) == ["slice", "rows", "v1", "v2"]
    assert list(table["slice"]) == ["country=DE", "country=FR"]
    assert list(table["rows"]) == [500, 20]
    de, fr = table.iloc[0], table.iloc[1]
    assert (de["v1"], de["v2"]) == (0.7, 0.75)
    # Too small to judge for the champion, absent for the candidate: blank either way.
    assert fr["v1"] is None or math.isnan(fr["v1"])
    assert math.isnan(fr["v2"])
