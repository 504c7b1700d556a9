"""Unit tests of resources/storage.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from resources.environments import resolve
from resources.storage import BatchStore
from tests.conftest import write_project
from tests.helpers.environments import PRODUCTION


def test_production_resources_are_env_vars_resolved_when_a_run_needs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "p", changes={"environment": "production"})
    before = dict(os.environ)
    resources = resolve(project, PRODUCTION).resources()
    assert dict(os.environ) == before  # resolving writes nothing to the environment
    data = tmp_path / "elsewhere"
    monkeypatch.setenv("CT_DATA_URL", str(data))
    with dg.build_resources({"batch_store": resources["batch_store"]}) as built:
        store: BatchStore = built.batch_store
        assert store.root == data
