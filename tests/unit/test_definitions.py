"""Unit tests of ct_assets/definitions.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import pytest

from ct_assets.definitions import build_definitions
from ct_assets.project.load import ProjectError
from tests.conftest import write_project


def test_a_dataset_without_an_event_id_needs_a_sql_key_column(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"sources\.sql\.key_column"):
        write_project(tmp_path / "energy", "energy", {"sources": {"sql": {}}})
    keyed = write_project(
        tmp_path / "keyed", "energy", {"sources": {"sql": {"key_column": "reading_id"}}}
    )
    assert keyed.spec.sources.pulled == ("sql_table",)
    resource = build_definitions(keyed).resources["sql_table"]
    assert resource.key_column == "reading_id"
