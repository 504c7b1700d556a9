"""Unit tests of sensors/rollback.py: how it reads the versions a performance record names.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from sensors.rollback import _versions


def test_versions_are_read_from_json_text_or_a_mapping_and_absent_is_empty() -> None:
    # The record may hold them as JSON text or as a mapping: both read the same.
    assert _versions({"versions": '{"champion": "3", "previous": "2"}'}) == {
        "champion": "3",
        "previous": "2",
    }
    stored = {"champion": "3"}
    read = _versions({"versions": stored})
    assert read == stored and read is not stored  # a copy: the caller may change it
    assert _versions({}) == {}
    assert _versions({"versions": None}) == {}
