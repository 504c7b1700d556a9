"""What validating a batch comes to: a typed frame with the rows set aside from it
(`SetAside`), or why the batch is refused, as reasons for a reader and records for a machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml.schema.findings import SHARE_KEY, UNPLACED, SchemaFailure
from ct_assets.project.load import Locate, declared_note

# The columns a set-aside row gains before its delivered values (ct_ names: no column of a
# dataset may start with it).
HELD_RULES, HELD_COLUMNS, HELD_TIME = "ct_rules", "ct_columns", "ct_event_time"


@dataclass(frozen=True)
class SetAside:
    """Rows of an accepted batch held back, each as delivered, with its line and why."""

    table: pd.DataFrame  # ct_line (or ct_row), ct_rules, ct_columns, ct_event_time, then the row
    times: pd.Series  # each row's event time when readable (NaT otherwise): where it belongs
    failures: list[SchemaFailure]

    @property
    def rows(self) -> int:
        return len(self.table)

    @property
    def unplaced(self) -> int:
        """Rows set aside only because no partition of the batch holds their time."""
        return int((self.table[HELD_RULES] == UNPLACED).sum())

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.failures})

    def csv(self) -> bytes:
        return self.table.to_csv(index=False).encode("utf-8")


@dataclass(frozen=True)
class ValidationOutcome:
    """Either a typed frame (with the rows set aside from it) or why the batch is refused."""

    source: str
    frame: pd.DataFrame | None
    failures: list[SchemaFailure]
    rows: int = 0  # rows delivered, when the file could be parsed at all
    set_aside: SetAside | None = None
    # The typed rows' numbers as delivered, when some rows were set aside (None: 0..n-1): row
    # ids derived from them point at the same raw row, whatever was set aside.
    kept: np.ndarray | None = None
    # Refused for its rows alone: how many broke row rules, against which share.
    share: str = ""
    # Refused whole: each delivered row's event time when readable, to say which partition
    # its rows were refused from.
    times: pd.Series | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def rows_set_aside(self) -> int:
        return 0 if self.set_aside is None else self.set_aside.rows

    def located(self, locate: Locate) -> ValidationOutcome:
        """The same outcome, its reasons naming the line of ct.yaml that declares each rule."""
        held = self.set_aside
        if held is not None:
            held = replace(held, failures=[f.located(locate) for f in held.failures])
        share = self.share
        line = locate(SHARE_KEY) if share else None
        if line is not None:  # the note names the key and its value already
            share = f"{share} ({declared_note(SHARE_KEY, line)})"
        failures = [f.located(locate) for f in self.failures]
        return replace(self, failures=failures, set_aside=held, share=share)

    def reason(self) -> str:
        lead = f"{self.share}: " if self.share else ""
        return f"{self.source}: {lead}" + "; ".join(f.describe() for f in self.failures)

    def set_aside_reason(self) -> str:
        held = self.set_aside.failures if self.set_aside is not None else []
        return (
            f"{self.source}: {self.rows_set_aside:,} of {self.rows:,} rows set aside, the rest "
            "accepted: " + "; ".join(f.describe() for f in held)
        )

    def as_record(self) -> dict[str, Any]:
        """Machine-readable (file, rule, column, rows) and human-readable at once."""
        return {
            "kind": "refused",
            "file": self.source,
            "reason": self.reason(),
            "rules": sorted({f.rule for f in self.failures}),
            "failures": [asdict(f) for f in self.failures],
            "rows_delivered": self.rows,
        }

    def set_aside_record(self) -> dict[str, Any]:
        """The record of an accepted batch's rows set aside (the rows are in their own file)."""
        held = self.set_aside
        assert held is not None, "nothing was set aside"
        return {
            "kind": "set_aside",
            "file": self.source,
            "reason": self.set_aside_reason(),
            "rules": held.rules,
            "failures": [asdict(f) for f in held.failures],
            "rows_delivered": self.rows,
            "rows_set_aside": held.rows,
            "rows_unplaced": held.unplaced,
        }
