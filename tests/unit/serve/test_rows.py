"""Unit tests of ct_assets/serve/rows.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.features import build_features, with_row_ids
from ct_assets.ml.schema import (
    parse_times,
    validate_batch,
)
from ct_assets.project.spec import ProjectSpec
from ct_assets.serve.rows import Invalid, RowCodec, first_event_windows, parser_for
from tests.conftest import START, generator, write_project
from tests.helpers.schema import zoned


@pytest.mark.parametrize(
    ("zone", "written", "instant"),
    [
        # The hour skipped in spring: read with the offset before the gap (03:30 CEST).
        ("Europe/Berlin", "2026-03-29 02:30:00", "2026-03-29T01:30:00Z"),
        ("America/New_York", "2026-03-08 02:30:00", "2026-03-08T07:30:00Z"),
        ("Australia/Lord_Howe", "2026-10-04 02:15:00", "2026-10-03T15:45:00Z"),  # a 30 min gap
        # The hour repeated in autumn: its first occurrence (still summer time).
        ("Europe/Berlin", "2026-10-25 02:30:00", "2026-10-25T00:30:00Z"),
        ("America/New_York", "2026-11-01 01:30:00", "2026-11-01T05:30:00Z"),
    ],
)
def test_times_at_a_dst_change_are_read_as_serving_reads_them_not_refused(
    zone: str, written: str, instant: str
) -> None:
    column = zoned(zone)
    times, bad = parse_times(pd.Series([written, "2026-01-15 12:00:00"], dtype=object), column)
    assert not bad.any()
    assert times.iloc[0] == pd.Timestamp(instant)
    assert times.iloc[1] == pd.Timestamp("2026-01-15 12:00:00", tz=zone).tz_convert("UTC")
    served = parser_for("t", column)(written).astimezone(UTC)
    assert pd.Timestamp(served) == times.iloc[0]


def spec_of(tmp_path: Any, example: str, changes: dict[str, Any] | None = None) -> ProjectSpec:
    return write_project(tmp_path / example, example, changes).spec


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a client sends them: through JSON, as pandas writes records."""
    return json.loads(frame.to_json(orient="records"))


# Hours and days of week are the producer's: a zone other than UTC moves them.
ELSEWHERE = {
    "dataset": {"columns": {"event_time": {"type": "datetime", "timezone": "Asia/Kolkata"}}}
}


@pytest.mark.parametrize(
    ("example", "changes"), [("shop", None), ("energy", None), ("shop", ELSEWHERE)]
)
def test_row_features_equal_the_offline_features_on_generated_rows(
    tmp_path: Any, example: str, changes: dict[str, Any] | None
) -> None:
    spec = spec_of(tmp_path, example, changes)
    raw = generator(example).demo_source(START, 400, 100).day(0)
    # Missing values where the declaration allows them, and edge values: a zero denominator.
    nullable = [c for c, col in spec.dataset.columns.items() if col.nullable]
    for name in nullable:
        raw.loc[raw.index[::7], name] = np.nan
    outcome = validate_batch(raw.copy(), "generated", spec)
    assert outcome.ok, outcome.reason()
    events = with_row_ids(outcome.frame, "b1", spec)
    offline = build_features(events, spec)
    codec = RowCodec(spec)
    served = [codec.row_features(codec.parse(r, i)) for i, r in enumerate(json_rows(raw))]
    for j, name in enumerate(spec.row_features):
        expected = offline[name].to_numpy(dtype=float)
        got = np.array([row[j] for row in served])
        np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True, err_msg=name)


def test_first_event_windows_are_what_offline_gives_an_entity_first_event(tmp_path: Any) -> None:
    spec = spec_of(tmp_path, "shop")
    defaults = first_event_windows(spec)
    assert set(defaults) == set(spec.feature_names) - set(spec.row_features)
    raw = generator("shop").demo_source(START, 400, 100).day(0)
    events = with_row_ids(validate_batch(raw, "g", spec).frame, "b1", spec)
    offline = build_features(events, spec)
    first = offline.sort_values("ct_time").drop_duplicates("ct_entity", keep="first")
    for name, value in defaults.items():
        column = first[name].to_numpy(dtype=float)
        if math.isnan(value):
            assert np.isnan(column).all(), name
        else:
            assert (column == value).all(), name
    assert first_event_windows(spec_of(tmp_path, "energy")) == {}


def test_rows_are_refused_naming_the_field_and_the_reason(tmp_path: Any) -> None:
    spec = spec_of(tmp_path, "shop")
    codec = RowCodec(spec)
    good = json_rows(generator("shop").demo_source(START, 5, 100).day(0))[0]

    def problems(**changes: Any) -> list[tuple[str, str]]:
        row = {**good, **changes}
        for k in [k for k, v in changes.items() if v is ...]:
            row.pop(k)
        with pytest.raises(Invalid) as caught:
            codec.parse(row, 0)
        return [(p.field, p.reason) for p in caught.value.problems]

    assert (
        problems(amount="12")[0][0] == "amount"
        and "expected a number" in problems(amount="12")[0][1]
    )
    assert problems(n_items=...) == [("n_items", "missing")]
    assert problems(colour="red")[0][0] == "colour"
    assert "not a finite number" in problems(amount=float("nan"))[0][1]
    assert "not a finite number" in problems(amount=float("inf"))[0][1]
    assert "below the declared minimum" in problems(amount=-1.0)[0][1]
    assert "below the declared minimum" in problems(n_items=0)[0][1]
    assert "unseen category 'moon'" in problems(channel="moon")[0][1]
    assert "not a time" in problems(event_time="yesterday")[0][1]
    assert "expected an integer" in problems(n_items=1.5)[0][1]
    # Two faults in one row: both named.
    assert {f for f, _ in problems(amount="x", country="XX")} == {"amount", "country"}
    # The label and event id may travel along; the event time is optional (now).
    row = codec.parse({k: v for k, v in good.items() if k != "event_time"}, 0)
    assert (datetime.now(UTC) - row.time).total_seconds() < 60


def test_an_unseen_category_maps_to_the_unknown_code_when_declared_so(tmp_path: Any) -> None:
    spec = spec_of(tmp_path, "energy")
    codec = RowCodec(spec)
    raw = json_rows(generator("energy").demo_source(START, 5, 100).day(0))[0]
    parsed = codec.parse({**raw, "weather": "hail"}, 0)
    features = dict(zip(spec.row_features, codec.row_features(parsed), strict=True))
    assert features["weather"] == -1.0
    with pytest.raises(Invalid, match="true or false"):
        codec.parse({**raw, "is_holiday": "perhaps"}, 0)
    with pytest.raises(Invalid, match="above the declared maximum"):
        codec.parse({**raw, "temperature_c": 99.0}, 0)
