"""What inference takes in and gives back: the options and the sample, the guesses and the
whole result (`Inference`), the errors that stop it, and the limits several steps share.

Every other module of `infer` builds on these; this one imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ct_assets.ingest.sniff import Sniffed
from ct_assets.project.load import ProjectError

# Text with at most this many values, each seen at least this often on average, is a category.
MAX_CATEGORIES = 50
MIN_ROWS_PER_CATEGORY = 2
# Slices are groups a gate can judge: a handful of values, not fifty.
# A subject's name alone (customer, device) over more values than this is an id, not a kind.
MAX_SLICE_VALUES = 10


class CannotInfer(ProjectError):
    """The sample leaves a choice open: the message names the flag that makes it."""


DATE_ORDERS = ("day-first", "month-first")


class AmbiguousDates(CannotInfer):
    """Dates that read both day first and month first: a question for the user, not a guess."""

    def __init__(self, column: str, example: str, formats: tuple[str, str]) -> None:
        self.column, self.example, self.formats = column, example, formats
        super().__init__(
            f"column {column}: a date such as {example!r} reads as {formats[0]} or "
            f"{formats[1]} (no day above 12 in the sample): pass --dates day-first or "
            "--dates month-first"
        )


@dataclass(frozen=True)
class InitOptions:
    label: str | None = None
    time: str | None = None
    entity: str | None = None
    task: str | None = None
    name: str = "ct"
    dates: str | None = None  # day-first or month-first, where the sample's dates read both


@dataclass(frozen=True)
class Sample:
    """The rows read from a file, and whether they are all of it."""

    frame: pd.DataFrame
    source: str
    total_rows: int | None = None  # None: unknown (reading stopped early)
    truncated: bool = False
    # How the file is written, and why ct thinks so.
    dialect: Sniffed = field(default_factory=Sniffed)

    @property
    def rows(self) -> int:
        return len(self.frame)

    def describe(self) -> str:
        if not self.truncated:
            return f"all {self.rows:,} rows of {self.source}"
        of = f"of {self.total_rows:,}" if self.total_rows is not None else "the file has more"
        return f"the first {self.rows:,} rows of {self.source} ({of}; the rest was not read)"


@dataclass(frozen=True)
class Guess:
    """A role's column (None: no such role), and why."""

    column: str | None
    reason: str


@dataclass
class Inference:
    """The declaration, and everything `ct init` says about how it came to it."""

    spec: dict[str, Any]
    sample: str  # what was read, in words
    roles: dict[str, Guess]
    task: Guess  # column: the task type
    positive: Guess | None
    columns: dict[str, str]  # column -> why its type (and checks)
    features: list[str]
    left_out: dict[str, str]  # column -> why it is not a feature
    transforms: str
    windows: str
    slices: list[str]
    slices_reason: str
    review: list[str] = field(default_factory=list)
    # Rows of the sample equal in every column to an earlier one: such data repeats rows.
    repeated_rows: int = 0
    format_reasons: dict[str, str] = field(default_factory=dict)  # dataset.format key -> why
    # Features left out as likely leaks of the label (their reasons are in `left_out`).
    leaks: list[str] = field(default_factory=list)
    # Why quality's positive-rate bounds are written, when they are.
    balance: str = ""

    @property
    def name(self) -> str:
        return str(self.spec["name"])
