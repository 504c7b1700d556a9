"""Rows delivered twice, judged on typed rows: exact copies of an earlier row, and values of the
event id (or of a column declared unique) that repeat with other content.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ct_assets.ml.schema.findings import Finding
from ct_assets.project.spec import ProjectSpec


def _unique_columns(spec: ProjectSpec) -> list[str]:
    event_id = spec.dataset.event_id
    return [n for n, c in spec.dataset.columns.items() if c.checks.unique or n == event_id]


def duplicates(typed: pd.DataFrame, spec: ProjectSpec, keys_checked: bool = False) -> list[Finding]:
    """Rows delivered twice: a copy of an earlier row in every column is a duplicate_row (the
    first kept; unless `quality.duplicate_rows: keep`), and every row sharing a value of the
    event id (or of a column declared unique) with a row of other content a duplicate_key.

    `keys_checked`: the unique columns were just found unique, so no row can repeat.
    """
    keys = _unique_columns(spec)
    refuse = spec.quality.duplicate_rows == "refuse"
    if (keys and keys_checked) or (not keys and not refuse):
        return []
    copies = exact_copies(typed)
    found = []
    if refuse and copies.any():
        detail = "the same values in every column as an earlier row (the first is kept)"
        found.append(Finding("*", "duplicate_row", detail, np.flatnonzero(copies)))
    for key in keys:
        values = typed[key]
        distinct = values[~copies]
        clash = distinct[distinct.duplicated(keep=False) & distinct.notna()]
        if clash.empty:
            continue
        mask = values.isin(clash.unique()).to_numpy(dtype=bool)
        if refuse:
            mask &= ~copies
        at = np.flatnonzero(mask)
        detail = "a value declared unique repeats with other values in the row"
        found.append(
            Finding(key, "duplicate_key", detail, at, [str(v) for v in values.iloc[at].tolist()])
        )
    return found


_MIX = np.uint64(0x9E3779B97F4A7C15)  # a 64-bit odd constant: hashes of columns combine unordered


def exact_copies(frame: pd.DataFrame) -> np.ndarray:
    """Which rows equal an earlier row in every column.

    Hashes of the numeric columns find the few rows that may repeat (~0.08 s a million rows),
    and only those are compared whole; comparing every row whole takes 0.3-0.4 s.
    """
    may = _may_repeat(frame)
    if may is None:
        return frame.duplicated(keep="first").to_numpy(dtype=bool)
    copies = np.zeros(len(frame), dtype=bool)
    if may.any():
        at = np.flatnonzero(may)
        copies[at[frame.iloc[at].duplicated(keep="first").to_numpy(dtype=bool)]] = True
    return copies


def _may_repeat(frame: pd.DataFrame) -> np.ndarray | None:
    """Rows whose numeric columns hash like another row's (None: no numeric column)."""
    combined: np.ndarray | None = None
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            plain = np.asarray(values.array.asi8)
        elif not isinstance(values.dtype, np.dtype) or values.dtype.kind not in "iubf":
            continue
        elif values.dtype.kind == "f":
            # `duplicated` holds -0.0 equal to 0.0 and every NaN equal: they must hash alike.
            numbers = values.to_numpy()
            plain = np.where(np.isnan(numbers), np.nan, numbers + 0.0)
        else:
            plain = values.to_numpy()
        hashed = pd.util.hash_array(plain, categorize=False)
        combined = hashed if combined is None else (combined * _MIX) ^ hashed
    if combined is None:
        return None
    return pd.Series(combined).duplicated(keep=False).to_numpy(dtype=bool)
