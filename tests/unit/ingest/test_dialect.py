"""Unit tests of ct_assets/ingest/dialect.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from ct_assets.cli import main
from ct_assets.ingest.parsing import check_bytes
from ct_assets.project.load import parse_spec
from tests.helpers.dialects import CASES, EU, ROWS, Export, project, rows


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


def test_init_writes_the_dialect_and_its_files_pass_check(tmp_path: Path) -> None:
    sample = tmp_path / "export.csv"
    sample.write_bytes(
        Export(delimiter=";", decimal=",", thousands=".", encoding="cp1252", missing="-").csv()
    )
    out = tmp_path / "p"
    assert main(["init", "--from", str(sample), "--out", str(out), "--label", "churned"]) == 0
    text = (out / "ct.yaml").read_text(encoding="utf-8")
    declared = yaml.safe_load(text)["dataset"]["format"]
    assert declared == {
        "delimiter": ";",
        "decimal": ",",
        "thousands": ".",
        "encoding": "cp1252",
        "nulls": ["-"],
    }
    assert "DuckDB" in text and "charset detection" in text  # each written with its reason
    spec = parse_spec(text, "ct.yaml", {})
    assert spec.column("amount").type == "float" and spec.column("qty").nullable
    outcome = check_bytes(sample.read_bytes(), spec, sample.name)
    assert outcome.ok and outcome.rows_set_aside == 0, outcome.reason()


def excel_german() -> bytes:
    """Excel on a German desktop: BOM, CRLF, semicolons, decimal commas, dotted groups, dates
    day first with dots."""
    return Export(
        delimiter=";",
        decimal=",",
        thousands=".",
        bom=True,
        newline="\r\n",
        times=lambda t: t.dt.strftime("%d.%m.%Y %H:%M"),
    ).csv()


def postgres_copy() -> bytes:
    """`COPY ... TO ... CSV HEADER` with NULL written as \\N and zoned times."""
    return Export(missing="\\N", times=lambda t: t.dt.strftime("%Y-%m-%d %H:%M:%S+00")).csv()


def excel_us_latin1() -> bytes:
    """Excel in the US saving 'CSV' in Windows' encoding, times on a 12-hour clock."""
    return Export(encoding="cp1252", times=lambda t: t.dt.strftime("%m/%d/%Y %I:%M %p")).csv()


def excel_sep_line() -> bytes:
    """Excel's `sep=;` line before the header."""
    return b"sep=;\n" + Export(delimiter=";", decimal=",").csv()


@pytest.mark.parametrize(
    ("make", "declared"),
    [
        (excel_german, {"delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "utf-8"}),
        (postgres_copy, {"delimiter": ",", "nulls": ["\\N"]}),
        (excel_us_latin1, {"encoding": "cp1252"}),
        (excel_sep_line, {"delimiter": ";", "decimal": ","}),
    ],
    ids=["excel_german", "postgres_copy", "excel_us_latin1", "excel_sep_line"],
)
def test_an_export_inits_a_project_that_reads_it_whole(
    tmp_path: Path, make: Callable[[], bytes], declared: dict[str, Any]
) -> None:
    sample = tmp_path / "export.csv"
    sample.write_bytes(make())
    out = tmp_path / "p"
    # The sample's days are all below 13: the order of day and month is the user's answer.
    dates = ["--dates", "day-first" if make in (excel_german, excel_sep_line) else "month-first"]
    assert (
        main(["init", "--from", str(sample), "--out", str(out), "--label", "churned", *dates]) == 0
    )
    raw = yaml.safe_load((out / "ct.yaml").read_text(encoding="utf-8"))
    assert {k: raw["dataset"]["format"].get(k) for k in declared} == declared
    assert raw["dataset"]["columns"]["when"]["type"] == "datetime"
    assert raw["dataset"]["columns"]["amount"]["type"] == "float"
    assert raw["dataset"]["columns"]["qty"] == {
        "type": "int",
        "nullable": True,
        "checks": {"ge": 0},
    }
    spec = parse_spec((out / "ct.yaml").read_text(encoding="utf-8"), "ct.yaml", {})
    outcome = check_bytes(sample.read_bytes(), spec, sample.name)
    assert outcome.ok and outcome.rows_set_aside == 0, outcome.reason()
    assert outcome.frame is not None and len(outcome.frame) == ROWS
    assert np.allclose(outcome.frame["amount"].to_numpy(dtype=float), rows()["amount"])
    # The times are the times written, whatever the clock or the order of day and month.
    expected = rows()["when"].dt.floor("min").dt.tz_localize("UTC")
    assert (outcome.frame["when"].dt.floor("min") == expected).all()


def test_a_sep_line_naming_another_delimiter_is_refused() -> None:
    outcome = check_bytes(excel_sep_line(), project(), "drop.csv")
    assert [f.rule for f in outcome.failures] == ["delimiter"]
    assert "sep=;" in outcome.reason()


def test_a_file_refused_for_its_dialect_today_lands_in_the_newest_partition() -> None:
    """Unreadable, so no event time to place it by, and arriving during today's partition
    (which does not exist before the day ends): it lands in yesterday's, to be quarantined with
    its reason now, not left unseen in the landing folder until tomorrow."""
    from datetime import UTC, datetime

    from ct_assets.ingest.landing import placement

    spec = project()
    existing = {"2026-03-01", "2026-03-02"}

    def key_of(moment: datetime) -> str | None:
        key = f"{moment:%Y-%m-%d}"
        return key if key in existing else None

    arrived = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    partitions, rows = placement(EU.csv(), "export.csv", arrived, key_of, spec)
    assert (partitions, rows) == (["2026-03-02"], None)
    outcome = check_bytes(EU.csv(), spec, "export.csv")
    assert [f.rule for f in outcome.failures] == ["delimiter"] and outcome.rows == ROWS
    # Two partitions later nothing is guessed: it is named and waits.
    with pytest.raises(ValueError, match="neither its event times nor its date"):
        placement(EU.csv(), "export.csv", datetime(2026, 3, 5, tzinfo=UTC), key_of, spec)
