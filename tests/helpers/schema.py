"""Helpers shared by several test files, unit and integration:
the ones tests/test_schema.py held."""

from __future__ import annotations

from datetime import date
from typing import Any

from ct_assets.project.load import PROJECT_FILE, read_spec
from ct_assets.project.spec import Column
from examples.energy import generator as energy_generator
from examples.shop.generator import (
    DriftingSource,
)
from tests.conftest import EXAMPLES

SHOP = read_spec(EXAMPLES / "shop" / PROJECT_FILE, {})


ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE, {})


SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=300)


METERS = energy_generator.MeterSource(start=date(2026, 1, 1), rows_per_day=300)


# Each example: its declaration, a day of its data, and a float column of it.
EXAMPLE_DAYS: dict[str, tuple[Any, Any, str]] = {
    "shop": (SHOP, SOURCE, "amount"),
    "energy": (ENERGY, METERS, "load_kwh"),
}


# Times written without an offset are local times in the column's declared zone; times with one
# keep it. The serving path (ct_assets.serve.rows) reads single rows the same way.
def zoned(timezone: str, fmt: str | None = None) -> Column:
    return Column(type="datetime", timezone=timezone, format=fmt)
