"""Unit tests of ct_assets/ingest/sniff.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from typing import Any

import pytest

from ct_assets.ingest.sniff import sniff
from tests.helpers.dialects import EU, PLAIN, Export


@pytest.mark.parametrize(
    ("export", "expected"),
    [
        (PLAIN, {"delimiter": ",", "decimal": ".", "encoding": "utf-8"}),
        (EU, {"delimiter": ";", "decimal": ",", "thousands": "."}),
        (Export(delimiter="\t"), {"delimiter": "\t"}),
        (Export(delimiter="|", thousands=","), {"delimiter": "|", "thousands": ","}),
        (
            Export(encoding="cp1252", delimiter=";", decimal=","),
            {"encoding": "cp1252", "decimal": ","},
        ),
        (Export(bom=True), {"encoding": "utf-8", "bom": "optional"}),
        (Export(missing="-"), {"nulls": ["-"]}),
    ],
    ids=["plain", "european", "tabs", "pipes_groups", "windows_latin", "bom", "dash"],
)
def test_init_sniffs_how_a_sample_is_written(export: Export, expected: dict[str, Any]) -> None:
    found = sniff(export.csv(), "sample.csv").delivery.model_dump()
    assert {k: found[k] for k in expected} == expected
