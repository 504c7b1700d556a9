"""Unit tests of sensors/file_drop.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from resources.sources import FileDropSource
from sensors.file_drop import DropCursor, plan_drops


def test_plan_drops_reports_files_it_cannot_place(tmp_path) -> None:
    (tmp_path / "undated.csv").write_text("a,b\n1,2\n")
    cursor = DropCursor()

    def place(item):
        raise ValueError(f"{item.path}: no date")

    landed = FileDropSource(url=str(tmp_path)).files()
    plan = plan_drops(landed, cursor, lambda item: "sha", place)
    assert plan.partitions == {}
    assert plan.unplaceable[0][0].endswith("undated.csv")
    assert cursor.hashes == {}
