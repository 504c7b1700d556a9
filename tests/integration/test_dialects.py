"""Delivery files of the shapes people export, each read as `dataset.format` declares or refused
naming what differs, with every row accounted for (delivered = validated + set aside)."""

from __future__ import annotations

import gzip
import os
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ct_assets.ingest.parsing import check_bytes
from tests.helpers.dialects import CASES, ROWS, Case, Export, number, project, rows


def ragged(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, "city"] = None
    return frame


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
