"""The pulled sources registry: a kind per module, one per section of `sources` in ct.yaml, and
the environment builds each declared one through it (no service contacted)."""

from __future__ import annotations

import pkgutil
from pathlib import Path
from typing import Any

import pytest

from ct_assets.project.load import ProjectError
from ct_assets.project.overrides import apply_overrides
from ct_assets.project.spec import Sources
from resources import pulled
from resources.environments import resolve
from tests.conftest import write_project


def test_every_module_registers_the_kind_it_is_named_after() -> None:
    modules = {m.name for m in pkgutil.iter_modules(pulled.__path__)} - {"base"}
    assert modules == set(pulled.names())
    for name in pulled.names():
        assert pulled.get(name).name == name


def test_every_section_of_sources_names_a_registered_kind() -> None:
    assert set(Sources.sections()) == set(pulled.names())
    assert Sources().declared() == {} and Sources().pulled == ()


def test_the_environment_builds_each_declared_source_through_its_kind(tmp_path: Path) -> None:
    changes = {"sources": {"sql": {"key_column": "order_id"}, "redis_stream": {}, "http_api": {}}}
    project = write_project(tmp_path / "p", changes=changes)
    assert project.spec.sources.pulled == ("sql_table", "redis_stream", "http_api")
    built = resolve(project).pulled_sources()
    assert sorted(built) == sorted(pulled.names())
    for name, resource in built.items():
        assert resource.name == name
    assert built["sql_table"].key_column == "order_id"


def test_ct_sources_switches_a_kind_on_by_its_name_and_refuses_an_unknown_one() -> None:
    raw: dict[str, Any] = {}
    apply_overrides(raw, {"CT_SOURCES": "sql_table, http_api"}, "ct.yaml")
    assert set(raw["sources"]) == {"sql", "http_api"}
    with pytest.raises(ProjectError, match="unknown source 'kafka'"):
        apply_overrides({}, {"CT_SOURCES": "kafka"}, "ct.yaml")


def test_a_second_kind_under_a_taken_name_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        pulled.register(pulled.PulledKind("sql_table", lambda section, spec, endpoint: None))
