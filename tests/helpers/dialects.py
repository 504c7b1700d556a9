"""Helpers shared by several test files, unit and integration:
the ones tests/test_dialects.py held."""

from __future__ import annotations

import codecs
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml

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
