"""Helpers shared by several test files, unit and integration:
the ones tests/test_granularities.py held."""

from __future__ import annotations

from typing import Any

from ct_assets.project.load import PROJECT_FILE, deep_merge, read_spec
from ct_assets.project.spec import ProjectSpec
from tests.conftest import EXAMPLES

ENERGY = read_spec(EXAMPLES / "energy" / PROJECT_FILE)


def with_partitions(granularity: str, start: str) -> ProjectSpec:
    changes: dict[str, Any] = {"partitions": {"granularity": granularity, "start": start}}
    return ProjectSpec.model_validate(deep_merge(ENERGY.model_dump(mode="json"), changes))
