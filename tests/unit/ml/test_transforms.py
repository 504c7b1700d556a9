"""The transforms registry: every transform's frame and row implementations agree, and the spec
validates ct.yaml against whatever the registry holds."""

from __future__ import annotations

import math
import pkgutil
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from ct_assets.ml import transforms
from ct_assets.ml.transforms.base import Transform
from ct_assets.project.spec import TRANSFORM_OPS, Features
from ct_assets.project.spec.features import Transform as DeclaredTransform

ZONE = "Europe/Paris"
NUMBERS = [0.0, 1.0, -1.0, -0.5, -2.0, 2.5, 1e9, -1e-12, np.nan, 3.0, 0.0, 7.0]


def events() -> pd.DataFrame:
    """Numbers at every edge a transform meets (zero, -1, missing, huge) and times around the
    spring DST change in the declared zone, with a missing one."""
    times = pd.to_datetime(
        [
            "2026-03-29T00:30:00Z",  # 01:30 in Paris, before the change
            "2026-03-29T01:30:00Z",  # 03:30 in Paris, after it
            "2026-03-28T23:00:00Z",  # Sunday 00:00 in Paris, Saturday in UTC
            None,
            "2026-01-05T12:00:00Z",
            "2026-12-31T23:59:59Z",
        ]
        * 2,
        utc=True,
    )
    y = list(reversed(NUMBERS))
    return pd.DataFrame({"x": NUMBERS, "y": y, "t": times})


def frame_values(t: Transform, frame: pd.DataFrame) -> list[float]:
    def column(name: str) -> pd.Series:
        if name == "t":
            return frame["t"].dt.tz_convert(ZONE)
        return frame[name].astype("float64")

    return [float(v) for v in t.frame(column)]


def row_values(t: Transform, frame: pd.DataFrame) -> list[float]:
    zone = ZoneInfo(ZONE)

    def column(name: str) -> Any:
        if name == "t":
            return lambda v: None if v["t"] is None else v["t"].astimezone(zone)
        return lambda v: float("nan") if v[name] is None else float(v[name])

    compute = t.row(column)
    out = []
    for record in frame.to_dict("records"):
        moment = record["t"]
        typed = {
            "x": None if math.isnan(record["x"]) else record["x"],
            "y": None if math.isnan(record["y"]) else record["y"],
            "t": None if pd.isna(moment) else datetime.fromisoformat(moment.isoformat()),
        }
        out.append(compute(typed))
    return out


DECLARED = TypeAdapter(DeclaredTransform)
EXAMPLES = [
    pytest.param(example, id=example["name"])
    for kind in transforms.classes()
    for example in kind.EXAMPLES
]


def test_every_transform_module_registers_the_op_it_is_named_after() -> None:
    modules = {m.name for m in pkgutil.iter_modules(transforms.__path__)} - {"base"}
    assert modules == set(transforms.ops())
    assert transforms.ops() == TRANSFORM_OPS
    for op in transforms.ops():
        assert transforms.get(op).__module__ == f"ct_assets.ml.transforms.{op}"


def test_every_transform_gives_at_least_one_example() -> None:
    assert all(kind.EXAMPLES for kind in transforms.classes())


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_transform_over_a_frame_equals_it_row_by_row(example: dict[str, Any]) -> None:
    declared = DECLARED.validate_python(example)
    frame = events()
    offline, served = frame_values(declared, frame), row_values(declared, frame)
    np.testing.assert_allclose(served, offline, rtol=0, atol=1e-12, equal_nan=True)
    # Not vacuous: every transform gives numbers for most of these events.
    assert sum(not math.isnan(v) for v in offline) >= len(frame) // 2


def test_edges_mean_what_they_say() -> None:
    frame = events()
    log = DECLARED.validate_python({"name": "l", "op": "log1p", "column": "x"})
    values = frame_values(log, frame)
    assert math.isnan(values[NUMBERS.index(-1.0)]) and math.isnan(values[NUMBERS.index(-2.0)])
    ratio = DECLARED.validate_python({"name": "r", "op": "ratio", "columns": ["x", "y"]})
    assert all(math.isfinite(v) or math.isnan(v) for v in frame_values(ratio, frame))
    hour = DECLARED.validate_python({"name": "h", "op": "hour", "column": "t"})
    # The producer's hour: 01:30 and 03:30 in Paris across the DST change, not UTC's 0 and 1.
    assert frame_values(hour, frame)[:2] == [1.0, 3.0]
    day = DECLARED.validate_python({"name": "d", "op": "day_of_week", "column": "t"})
    assert frame_values(day, frame)[2] == 6.0  # Sunday in Paris, Saturday in UTC


def test_an_unknown_op_is_refused_naming_every_registered_one() -> None:
    with pytest.raises(ValidationError) as refused:
        Features.model_validate({"transforms": [{"name": "a", "op": "clp", "column": "x"}]})
    assert all(op in str(refused.value) for op in transforms.ops())


def test_a_second_transform_under_a_taken_op_is_refused() -> None:
    class Impostor(transforms.get("log1p")):  # type: ignore[misc,valid-type]
        pass

    with pytest.raises(ValueError, match="registered twice"):
        transforms.register(Impostor)
    assert transforms.get("log1p").__name__ == "Log1p"
