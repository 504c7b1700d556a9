"""The model's inputs for every validated event, as the project declares them.

Declared columns enter as numbers (booleans as 0/1, categories as integer codes of their declared
categories), transforms from a small vocabulary are computed row by row, and window features
aggregate each entity's earlier events (`feature_spec`). The keys, label and slice values travel
under ct's own column names (`frames`), so later stages read one frame shape for any dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ct_assets.ml.feature_spec import window_features, window_spec
from ct_assets.ml.frames import (
    BATCH,
    ENTITY,
    FEATURE_SET,
    LABEL,
    ROW_ID,
    TIME,
    slice_column,
)
from ct_assets.ml.transforms import Transform
from ct_assets.ml.vocabulary import BINARY
from ct_assets.project.spec import ProjectSpec

# Bump when the code below changes what a feature means: it is part of the feature-set id.
CODE_VERSION = "3"
# A category value outside the declared categories (or missing) is this code.
UNKNOWN_CODE = -1
SHOWN_VALUES = 5


def feature_set_id(spec: ProjectSpec) -> str:
    return spec.feature_set_id(CODE_VERSION)


def key_columns(spec: ProjectSpec) -> tuple[str, ...]:
    return (ROW_ID, *((ENTITY,) if spec.dataset.entity else ()), TIME, BATCH)


@dataclass
class FeatureReport:
    """What the features of a partition met that the declaration did not foresee."""

    # Category column -> rows whose value is outside its categories, and a few such values.
    unseen: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def unseen_rows(self) -> int:
        return sum(int(u["rows"]) for u in self.unseen.values())


def category_codes(values: pd.Series, categories: list[str]) -> tuple[pd.Series, pd.Series]:
    """Integer codes of the declared categories (-1: missing or unseen), and the unseen values."""
    text = values.astype(object).where(values.notna(), None)
    codes = pd.Categorical(text, categories=categories).codes.astype("int64")
    unseen = text[(codes == UNKNOWN_CODE) & text.notna().to_numpy()]
    return pd.Series(codes, index=values.index), unseen


def label_values(events: pd.DataFrame, spec: ProjectSpec) -> pd.Series:
    """The label as a model learns it: 0/1 for binary (1 = the positive value), else a number."""
    label = events[spec.dataset.label]
    if spec.task.type != BINARY:
        return label.astype(float)
    kind = spec.column(spec.dataset.label).type
    positive = spec.positive
    if kind == "bool":
        hit = label.astype(bool) == (positive == "true")
    elif kind in ("int", "float"):
        hit = label.astype(float) == float(positive)
    elif isinstance(label.dtype, pd.StringDtype):
        # Compared in Arrow: text to Python strings first costs 0.25 s a million rows.
        hit = (label == positive).fillna(False)
    else:
        hit = label.astype(str) == positive
    return hit.astype("int64")


def _number(values: pd.Series) -> pd.Series:
    # Nullable ints and booleans too: their missing values become NaN.
    return values.astype("float64")


def local_times(events: pd.DataFrame, spec: ProjectSpec, name: str) -> pd.Series:
    """Times in the column's declared zone: an hour of day means the producer's hour."""
    times = events[name]
    zone = spec.column(name).timezone
    return times if zone == "UTC" else times.dt.tz_convert(zone)


def transform(events: pd.DataFrame, spec: ProjectSpec, t: Transform) -> pd.Series:
    """One transform over every event: its sources as it reads them (numbers as floats, times
    in their declared zone), its frame implementation (`ml/transforms/`) does the rest."""

    def column(name: str) -> pd.Series:
        if spec.column(name).type == "datetime":
            return local_times(events, spec, name)
        return _number(events[name])

    return t.frame(column)


def row_features(
    events: pd.DataFrame, spec: ProjectSpec, report: FeatureReport | None = None
) -> dict[str, pd.Series]:
    """Features of each event alone, by name: declared columns, then transforms."""
    out: dict[str, pd.Series] = {}
    for name in spec.features.columns:
        column = spec.column(name)
        if column.type == "category":
            codes, unseen = category_codes(events[name], list(column.categories or []))
            out[name] = codes
            if report is not None and len(unseen):
                report.unseen[name] = {
                    "rows": len(unseen),
                    "values": sorted({str(v) for v in unseen})[:SHOWN_VALUES],
                }
        else:
            out[name] = _number(events[name])
    for t in spec.features.transforms:
        out[t.name] = transform(events, spec, t)
    return out


def row_ids(events: pd.DataFrame, spec: ProjectSpec) -> pd.Series:
    """The declared event id as text; without one, `<batch id>:<row number in the batch>`
    (validated batches carry it already, see `with_row_ids`)."""
    if spec.dataset.event_id is not None:
        return events[spec.dataset.event_id].astype(str)
    return events[ROW_ID].astype(str)


def with_row_ids(
    events: pd.DataFrame, batch_id: str, spec: ProjectSpec, numbers: np.ndarray | None = None
) -> pd.DataFrame:
    """A validated batch with its batch id and row ids (derived when none is declared).

    Derived ids number the rows of the batch as delivered, so they are stable: the same bytes
    always give the same ids, and lineage can point at a row of a raw file. `numbers` are the
    rows' numbers as delivered when some rows of the batch were set aside (default: 0..n-1).
    """
    n = len(events)
    if spec.dataset.event_id is not None:
        ids = events[spec.dataset.event_id].astype("string[pyarrow]")
    else:
        delivered = pc.cast(pa.array(np.arange(n) if numbers is None else numbers), pa.string())
        joined = pc.binary_join_element_wise(pa.scalar(f"{batch_id}:"), delivered, "")
        ids = pd.Series(pd.arrays.ArrowStringArray(joined), index=events.index)
    # Arrow strings, not a million references to one Python str: Parquet writes those
    # five times faster, and the batch id column is in every validated row.
    one = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([batch_id]))
    batch = pd.Series(pd.arrays.ArrowStringArray(one.cast(pa.string())), index=events.index)
    # A shallow copy gains the two columns: `assign` would copy every column of the batch.
    out = events.copy(deep=False)
    out[BATCH] = batch
    out[ROW_ID] = ids
    return out


def _canonical(events: pd.DataFrame, spec: ProjectSpec) -> pd.DataFrame:
    keys = {ROW_ID: row_ids(events, spec), TIME: events[spec.dataset.time]}
    if spec.dataset.entity:
        keys[ENTITY] = events[spec.dataset.entity].astype(str)
    sources = sorted({c for c, _, _ in spec.window_features})
    return pd.DataFrame({**keys, **{c: events[c] for c in sources}})


def build_features(
    events: pd.DataFrame,
    spec: ProjectSpec,
    history: pd.DataFrame | None = None,
    report: FeatureReport | None = None,
) -> pd.DataFrame:
    """Keys, label, slices and the model's inputs for every event of `events`.

    Window features also read `history`, the same entities' earlier events (for a daily
    partition, the partitions before it as far back as the longest window), so a 7-day window
    on day 8 sees days 1-7.
    """
    windows = window_spec(spec)
    computed: pd.DataFrame | None = None
    if windows.features:
        current = _canonical(events, spec)
        if history is not None and len(history):
            everything = pd.concat([_canonical(history, spec), current], ignore_index=True)
            computed = window_features(everything, windows).iloc[len(history) :]
        else:
            computed = window_features(current, windows)
    out = pd.DataFrame(
        {
            ROW_ID: row_ids(events, spec),
            **({ENTITY: events[spec.dataset.entity].astype(str)} if spec.dataset.entity else {}),
            TIME: events[spec.dataset.time],
            BATCH: events[BATCH],
        }
    )
    for name, values in row_features(events, spec, report).items():
        out[name] = values.to_numpy()
    for name in windows.names:
        assert computed is not None
        out[name] = computed[name].to_numpy()
    for name in spec.slice_columns:
        values = events[name].astype(object)
        out[slice_column(name)] = values.where(values.notna(), "missing").astype(str).to_numpy()
    out[LABEL] = label_values(events, spec).to_numpy()
    out[FEATURE_SET] = feature_set_id(spec)
    return out.reset_index(drop=True)
