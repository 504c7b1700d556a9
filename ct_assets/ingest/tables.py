"""A table handed over in memory (the value of a user's Dagster asset) as a delivery's bytes.

Raw keeps bytes and names a batch by their hash, so a frame becomes Parquet, written the same
way every time: the same frame is the same batch, however often it is loaded. Nothing is typed
here: the declaration judges the columns when the batch is validated, as for any delivery.
"""

from __future__ import annotations

import io
import reprlib
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class NotATable(TypeError):
    """A value that holds no table ct could land (the message says what it is)."""


def as_frame(value: Any) -> pd.DataFrame:
    """`value` as a pandas frame: a DataFrame itself, or a table that converts itself
    (`to_pandas()`: polars, pyarrow). Anything else is refused, never guessed at."""
    if isinstance(value, pd.DataFrame):
        return value
    convert = getattr(value, "to_pandas", None)
    converted = convert() if callable(convert) else None
    if isinstance(converted, pd.DataFrame):
        return converted
    kind = type(value)
    named = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    raise NotATable(
        f"a {named}, not a table: the asset must return a pandas DataFrame (or a table with "
        "to_pandas(), such as polars or pyarrow)"
    )


def _untyped(values: pd.Series) -> bool:
    """An object column Arrow cannot give one type (numbers and text mixed, say)."""
    if values.dtype != object:
        return False
    try:
        pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return True
    return False


def _as_text(values: pd.Series) -> pd.Series:
    """Each value as text, nulls kept: what a CSV of the frame would carry, to be typed as
    declared, cell by cell, and a cell that does not fit set aside like a delivered one."""
    return values.map(lambda v: None if pd.api.types.is_scalar(v) and pd.isna(v) else str(v))


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet: named index levels become columns (an unnamed index is pandas'
    row numbering, not data), and a column Arrow cannot type is written as text."""
    named = [name for name in frame.index.names if name is not None]
    table = frame.reset_index(level=named) if named else frame
    untyped = [name for name in table.columns if _untyped(table[name])]
    if untyped:
        table = table.copy()
        for name in untyped:
            table[name] = _as_text(table[name])
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), buffer)
    return buffer.getvalue()


# How much of a refused value is kept to show what it was: a few levels and items of it.
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict = 3, 20, 20
_SHOWN.maxstring = _SHOWN.maxother = 200


def shown(value: Any) -> bytes:
    """A value that is not a table, as text short enough to keep beside its refusal."""
    return (_SHOWN.repr(value) + "\n").encode("utf-8")
