"""What parsing a delivered file comes to: a frame of text cells with where a reader finds
each row, or the structural reason the file cannot be read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ct_assets.ml.schema import Lines, SchemaFailure

# Where a reader finds a row: CSV and JSON Lines by the line a text editor shows, Parquet by
# its row number (1 for the first).
ROWS = Lines("row", 1)


@dataclass(frozen=True)
class Parsed:
    frame: pd.DataFrame | None
    failures: list[SchemaFailure]
    lines: Lines = field(default_factory=lambda: ROWS)
    rows: int = 0  # rows delivered, counted even when the file cannot be read as a table


def refused(
    rule: str,
    detail: str,
    rows: list[int] | None = None,
    lines: list[int] | None = None,
    delivered: int = 0,
) -> Parsed:
    failure = SchemaFailure("*", rule, detail, rows or [], lines=lines or [])
    return Parsed(None, [failure], rows=delivered)
