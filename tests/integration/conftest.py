"""Every test under tests/integration/ is marked `integration`, so `pytest -m "not integration"`
and `pytest tests/unit` both leave out what needs a Dagster instance, a daemon, a service or a
subprocess, or trains for long."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixtures the unit tests use too (tests/unit/conftest.py imports them as well).
from tests.helpers.families import new_family  # noqa: F401
from tests.helpers.incremental import days  # noqa: F401

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's hook sees the whole session's items: mark only the ones collected from here.
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)
