"""Delivery files of the shapes people export, each read as `dataset.format` declares or refused
naming what differs, with every row accounted for (delivered = validated + set aside)."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ct_assets.cli import main
from ct_assets.ingest.parsing import check_bytes
from ct_assets.ingest.sniff import sniff
from ct_assets.project.load import parse_spec
from ct_assets.project.spec import ProjectSpec

ROWS = 300

PROJECT = {
    "name": "dialects",
    "task": {"type": "binary", "positive": "yes"},
    "dataset": {
        "roles": {"label": "churned", "event_time": "when", "event_id": "id"},
        "columns": {
            "id": {"type": "int"},
            "when": {"type": "datetime"},
            "amount": {"type": "float"},
            "qty": {"type": "int", "nullable": True},
            "city": {"type": "string"},
            "churned": {"type": "category", "categories": ["no", "yes"]},
        },
    },
    "features": {"columns": ["amount", "qty"]},
    "partitions": {"granularity": "daily", "start": "2026-03-01"},
}


def project(fmt: dict[str, Any] | None = None, **columns: dict[str, Any]) -> ProjectSpec:
    raw = json.loads(json.dumps(PROJECT))
    if fmt:
        raw["dataset"]["format"] = fmt
    for name, changes in columns.items():
        raw["dataset"]["columns"][name] |= changes
    return parse_spec(yaml.safe_dump(raw), "ct.yaml", {})


def rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2026-03-02")
    return pd.DataFrame(
        {
            "id": np.arange(1, ROWS + 1),
            "when": [start + pd.Timedelta(minutes=7 * i) for i in range(ROWS)],
            "amount": np.round(rng.gamma(2.0, 900.0, ROWS), 2),
            "qty": rng.integers(0, 9, ROWS).astype(object),
            "city": rng.choice(["Zürich", "São Paulo", "Kraków", "Oslo", 'Paris, "FR"'], ROWS),
            "churned": rng.choice(["no", "yes"], ROWS),
        }
    )


def number(x: float, decimal: str = ".", thousands: str = "") -> str:
    text = f"{x:,.2f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


@dataclass
class Export:
    """How a file is written (what a spreadsheet or a database export does)."""

    delimiter: str = ","
    quote: str = '"'
    decimal: str = "."
    thousands: str = ""
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    missing: str = ""  # how a missing qty is written
    times: Callable[[pd.Series], pd.Series] = field(
        default=lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    edit: Callable[[pd.DataFrame], pd.DataFrame] = field(default=lambda f: f)

    def frame(self) -> pd.DataFrame:
        frame = rows()
        frame.loc[::10, "qty"] = None
        frame["amount"] = [number(x, self.decimal, self.thousands) for x in frame["amount"]]
        frame["when"] = self.times(frame["when"])
        frame["qty"] = frame["qty"].map(lambda q: self.missing if q is None else str(q))
        return self.edit(frame)

    def csv(self) -> bytes:
        out = io.StringIO()
        self.frame().to_csv(
            out,
            index=False,
            sep=self.delimiter,
            quotechar=self.quote,
            lineterminator=self.newline,
        )
        data = out.getvalue().encode(self.encoding)
        bom = {"utf-8": codecs.BOM_UTF8}.get(self.encoding, b"")
        return (bom if self.bom else b"") + data


def jsonl(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="records", lines=True, force_ascii=False).encode()


def parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def blank_lines(data: bytes) -> bytes:
    lines = data.split(b"\n")
    return b"\n".join(line + (b"\n" if i % 50 == 10 else b"") for i, line in enumerate(lines))


def set_cells(column: str, value: str, every: int = 150) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[1::every], column] = value
        return frame

    return edit


def ragged(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, "city"] = None
    return frame


@dataclass(frozen=True)
class Case:
    """A delivery, the declaration it meets, and what ct must make of it."""

    name: str  # the file's name (its suffix matters)
    data: Callable[[], bytes]
    fmt: dict[str, Any] | None = None
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepted: int | None = None  # rows validated, when accepted
    set_aside: int = 0
    rule: str | None = None  # the rule refusing the file, or setting rows aside
    says: str = ""  # a phrase the refusal must hold


def two_set_aside(name: str, column: str, value: str, rule: str) -> Case:
    """A file two of whose rows (of 300, under the 1% share) hold `value` in `column`."""
    data = Export(edit=set_cells(column, value)).csv
    return Case(name, data, accepted=ROWS - 2, set_aside=2, rule=rule)


PLAIN = Export()
EU = Export(delimiter=";", decimal=",", thousands=".")
EU_FMT = {"delimiter": ";", "decimal": ",", "thousands": "."}
DMY = {"format": "%d/%m/%Y %H:%M"}


def dmy(times: pd.Series) -> pd.Series:
    return times.dt.strftime("%d/%m/%Y %H:%M")


CASES = [
    # -- accepted, every row -------------------------------------------------------------------
    Case("plain.csv", PLAIN.csv, accepted=ROWS),
    Case("crlf.csv", Export(newline="\r\n").csv, accepted=ROWS),
    Case("excel_bom.csv", Export(bom=True).csv, accepted=ROWS),
    Case("excel_bom_required.csv", Export(bom=True).csv, {"bom": "required"}, accepted=ROWS),
    Case("european.csv", EU.csv, EU_FMT, accepted=ROWS),
    Case(
        "eu_no_groups.csv",
        Export(delimiter=";", decimal=",").csv,
        {"delimiter": ";", "decimal": ","},
        accepted=ROWS,
    ),
    Case("tabs.tsv", Export(delimiter="\t").csv, {"delimiter": "tab"}, accepted=ROWS),
    Case("pipes.txt", Export(delimiter="|").csv, {"delimiter": "|"}, accepted=ROWS),
    Case("windows.csv", Export(encoding="cp1252").csv, {"encoding": "cp1252"}, accepted=ROWS),
    Case("latin1.csv", Export(encoding="latin-1").csv, {"encoding": "latin-1"}, accepted=ROWS),
    Case("utf16.csv", Export(encoding="utf-16").csv, {"encoding": "utf-16"}, accepted=ROWS),
    Case("zipped.csv.gz", lambda: gzip.compress(PLAIN.csv()), accepted=ROWS),
    Case("zipped_no_suffix.csv", lambda: gzip.compress(PLAIN.csv()), accepted=ROWS),
    Case(
        "zipped_declared.csv",
        lambda: gzip.compress(PLAIN.csv()),
        {"compression": "gzip"},
        accepted=ROWS,
    ),
    Case(
        "single_quotes.csv",
        Export(quote="'", edit=set_cells("city", "O'Hare, IL", 3)).csv,
        {"quote": "'"},
        accepted=ROWS,
    ),
    Case(
        "newline_in_field.csv", Export(edit=set_cells("city", "two\nlines", 7)).csv, accepted=ROWS
    ),
    Case("records.jsonl", lambda: jsonl(PLAIN.frame()), accepted=ROWS),
    Case("records.ndjson.gz", lambda: gzip.compress(jsonl(PLAIN.frame())), accepted=ROWS),
    Case("array.json", lambda: PLAIN.frame().to_json(orient="records").encode(), accepted=ROWS),
    Case(
        "typed.parquet",
        lambda: parquet(rows().assign(qty=lambda f: f["qty"].astype("int64"))),
        accepted=ROWS,
    ),
    Case("na_written.csv", Export(missing="NA").csv, accepted=ROWS),
    Case("dash_declared.csv", Export(missing="-").csv, {"nulls": ["-"]}, accepted=ROWS),
    Case("thousands_comma.csv", Export(thousands=",").csv, {"thousands": ","}, accepted=ROWS),
    Case("swiss.csv", Export(thousands="'").csv, {"thousands": "'"}, accepted=ROWS),
    Case(
        "french.csv",
        Export(delimiter=";", decimal=",", thousands="\u00a0").csv,
        {"delimiter": ";", "decimal": ",", "thousands": "\u00a0"},
        accepted=ROWS,
    ),
    Case("blank_lines.csv", lambda: blank_lines(PLAIN.csv()), accepted=ROWS),
    Case("no_final_newline.csv", lambda: PLAIN.csv().rstrip(b"\n"), accepted=ROWS),
    Case("day_first.csv", Export(times=dmy).csv, columns={"when": DMY}, accepted=ROWS),
    Case(
        "epoch.csv",
        Export(times=lambda t: (t.astype("int64") // 10**9).astype(str)).csv,
        columns={"when": {"format": "epoch_s"}},
        accepted=ROWS,
    ),
    Case(
        "offsets.csv",
        Export(times=lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%S+01:00")).csv,
        accepted=ROWS,
    ),
    Case(
        "local_times.csv",
        Export(times=lambda t: t.dt.strftime("%Y-%m-%d %H:%M:%S")).csv,
        columns={"when": {"timezone": "Europe/Berlin"}},
        accepted=ROWS,
    ),
    # -- a few rows set aside, the rest accepted -----------------------------------------------
    two_set_aside("us_dates_in_iso.csv", "when", "05/03/2026 00:02", "wrong_type"),
    two_set_aside("blank_times.csv", "when", "", "no_event_time"),
    two_set_aside("early_times.csv", "when", "2020-01-01T00:00:00Z", "no_partition"),
    two_set_aside("dash_undeclared.csv", "qty", "-", "wrong_type"),
    # -- refused whole, naming what differs ----------------------------------------------------
    Case("semicolons.csv", EU.csv, rule="delimiter", says="delimited by ';'"),
    Case("commas.csv", PLAIN.csv, {"delimiter": ";"}, rule="delimiter", says="delimited by ','"),
    Case(
        "latin1_undeclared.csv",
        Export(encoding="latin-1").csv,
        rule="encoding",
        says="dataset.format.encoding",
    ),
    Case(
        "utf8_declared_cp1252.csv",
        PLAIN.csv,
        {"encoding": "cp1252"},
        rule="encoding",
        says="the text is UTF-8",
    ),
    Case("utf16_undeclared.csv", Export(encoding="utf-16").csv, rule="encoding", says="UTF-16"),
    Case(
        "bom_refused.csv",
        Export(bom=True).csv,
        {"bom": "absent"},
        rule="bom",
        says="byte-order mark",
    ),
    Case("bom_missing.csv", PLAIN.csv, {"bom": "required"}, rule="bom", says="no byte-order mark"),
    Case(
        "gzip_refused.csv",
        lambda: gzip.compress(PLAIN.csv()),
        {"compression": "none"},
        rule="compression",
        says="gzip",
    ),
    Case(
        "gzip_missing.csv", PLAIN.csv, {"compression": "gzip"}, rule="compression", says="not gzip"
    ),
    Case(
        "decimal_commas.csv",
        Export(delimiter=";", decimal=",").csv,
        {"delimiter": ";"},
        rule="wrong_type",
        says="decimal: ','",
    ),
    Case(
        "decimal_points.csv",
        Export(delimiter=";").csv,
        {"delimiter": ";", "decimal": ",", "thousands": "."},
        rule="wrong_type",
        says="decimal: '.'",
    ),
    Case(
        "ragged.csv",
        lambda: PLAIN.csv().replace(b"\n5,", b"\n5,extra,", 1),
        rule="field_count",
        says="line",
    ),
    Case("cut.csv.gz", lambda: gzip.compress(PLAIN.csv())[:-20], rule="truncated"),
    Case("header_only.csv", lambda: PLAIN.csv().split(b"\n")[0] + b"\n", rule="header_only"),
    Case("empty.csv", lambda: b"", rule="empty_file"),
    Case("not_objects.jsonl", lambda: b"[1, 2]\n[3, 4]\n", rule="not_json"),
    Case(
        "no_city.csv",
        Export(edit=lambda f: f.drop(columns=["city"])).csv,
        rule="missing_column",
        says="city",
    ),
    Case("dmy_declared_iso.csv", Export(times=dmy).csv, rule="wrong_type", says="iso"),
]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_delivery_is_read_as_declared_or_refused_naming_what_differs(case: Case) -> None:
    spec = project(case.fmt, **case.columns)
    outcome = check_bytes(case.data(), spec, case.name, place=in_march)
    validated = 0 if outcome.frame is None else len(outcome.frame)
    if case.accepted is not None:
        assert outcome.ok, outcome.reason()
        assert (validated, outcome.rows_set_aside) == (case.accepted, case.set_aside), (
            outcome.set_aside_reason() if outcome.set_aside else ""
        )
        if case.set_aside:
            assert outcome.set_aside is not None and case.rule in outcome.set_aside.rules
            lines = [line for f in outcome.set_aside.failures for line in f.lines]
            assert lines and min(lines) >= 2  # file lines: the header is line 1
        # Nothing is lost, nothing is doubled.
        assert outcome.rows == validated + outcome.rows_set_aside == ROWS
        typed = outcome.frame
        assert typed is not None
        if "amount" in typed and case.rule is None:
            expected = rows()["amount"].to_numpy()
            assert np.allclose(typed["amount"].to_numpy(dtype=float), expected)
        if case.rule is None and "city" in typed:
            assert set(typed["city"]) >= {"Zürich", "São Paulo", "Kraków"}
    else:
        assert not outcome.ok
        assert case.rule in {f.rule for f in outcome.failures}, outcome.reason()
        assert case.says in outcome.reason(), outcome.reason()
        assert "Traceback" not in outcome.reason()


def in_march(times: pd.Series) -> np.ndarray:
    at = pd.to_datetime(times, utc=True)
    return (
        (at >= pd.Timestamp("2026-03-01", tz="UTC")) & (at < pd.Timestamp("2026-04-01", tz="UTC"))
    ).to_numpy()


# -- ct init finds the dialect -----------------------------------------------------------------


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


def test_a_semicolon_file_is_named_by_ct_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ct.yaml").write_text(yaml.safe_dump(PROJECT), encoding="utf-8")
    drop = tmp_path / "drop.csv"
    drop.write_bytes(EU.csv())
    assert main(["check", "--project", str(tmp_path), str(drop)]) == 1
    out = capsys.readouterr().out
    assert "the header is delimited by ';'; dataset.format.delimiter is ','" in out


# -- a property: any frame, written in any declared dialect, reads back equal -------------------

DIALECTS = st.fixed_dictionaries(
    {
        "delimiter": st.sampled_from([",", ";", "\t", "|"]),
        "quote": st.sampled_from(['"', "'"]),
        "numbers": st.sampled_from(
            [(".", ""), (",", ""), (",", "."), (".", ","), (",", " "), (".", "'")]
        ),
        "encoding": st.sampled_from(["utf-8", "utf-16", "cp1252"]),
        "bom": st.booleans(),
        "gzip": st.booleans(),
    }
)
TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ éü,;|\t'\"\n-0123456789")), min_size=1, max_size=12
)


@settings(
    max_examples=int(os.environ.get("CT_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    dialect=DIALECTS,
    amounts=st.lists(
        st.floats(-1e7, 1e7, allow_nan=False).map(lambda x: round(x, 2)), min_size=4, max_size=25
    ),
    data=st.data(),
)
def test_random_frames_in_random_dialects_read_back_equal(
    dialect: dict[str, Any], amounts: list[float], data: st.DataObject
) -> None:
    n = len(amounts)
    cities = data.draw(
        st.lists(TEXT.filter(lambda t: t.strip() == t and t.strip() != ""), min_size=n, max_size=n)
    )
    numbers = data.draw(st.lists(st.integers(-(10**6), 10**6), min_size=n, max_size=n))
    # Some missing, never most (a mostly-null column is refused by a rule of its own).
    qty: list[int | None] = [None if i % 3 == 2 else q for i, q in enumerate(numbers)]
    decimal, thousands = dialect["numbers"]
    if decimal == dialect["delimiter"] or thousands == dialect["delimiter"]:
        dialect["delimiter"] = "\t" if dialect["delimiter"] != "\t" else "|"
    # Both classes in every batch (one class alone is refused by a rule of its own).
    churned = ["no", "yes"] * n
    frame = rows().head(n).assign(amount=amounts, city=cities, qty=qty, churned=churned[:n])
    export = Export(
        delimiter=dialect["delimiter"],
        quote=dialect["quote"],
        decimal=decimal,
        thousands=thousands,
        encoding=dialect["encoding"],
        bom=dialect["bom"] and dialect["encoding"] == "utf-8",
        edit=lambda _: frame.assign(
            amount=[number(x, decimal, thousands) for x in amounts],
            when=frame["when"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            qty=["" if q is None else str(q) for q in qty],
        ),
    )
    payload = export.csv()
    if dialect["gzip"]:
        payload = gzip.compress(payload)
    spec = project(
        {
            "delimiter": export.delimiter,
            "quote": export.quote,
            "decimal": decimal,
            "thousands": thousands or None,
            "encoding": export.encoding,
        },
        city={"nullable": False},
    )
    outcome = check_bytes(payload, spec, "drop.csv")
    assert outcome.ok and outcome.rows_set_aside == 0, outcome.reason()
    typed = outcome.frame
    assert typed is not None
    assert np.allclose(typed["amount"].to_numpy(dtype=float), amounts)
    assert list(typed["city"]) == cities
    assert [None if pd.isna(q) else int(q) for q in typed["qty"]] == qty


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
