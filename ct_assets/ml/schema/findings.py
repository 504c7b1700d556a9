"""What a batch broke, and where: a `Finding` holds every row that broke one rule in one
column, a `SchemaFailure` says it in words for a reader (its rows by the line a reader finds them
at, the key of ct.yaml that declares its rule).

Which rules one row can break (`ROW_RULES`: the row is set aside) and which are faults of the
file (it is refused whole), and the share of bad rows past which a batch is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ct_assets.project.load import KeyPath, Locate, declared_note
from ct_assets.project.spec import ProjectSpec

# Rules one row can break: its row is set aside and the rest of the batch goes on, as long as
# such rows are at most `quality.max_bad_row_share` of the batch. Every other rule (a missing or
# unexpected column, a cut-off or unreadable file, a mostly-null column, one class) is about the
# file as a whole and refuses it.
ROW_RULES = frozenset(
    {
        "wrong_type",
        "out_of_range",
        "not_allowed_value",
        "pattern_mismatch",
        "null_value",
        "future_timestamp",
        "duplicate_row",
        "duplicate_key",
        "no_event_time",
        "no_partition",
    }
)


# A row whose event time fits none of the batch's partitions is set aside too, but that says
# where the partitions are, not what the file holds: it never counts toward the share.
UNPLACED = "no_partition"


SHOWN_ROWS = 5  # rows named per rule in a reason; the set-aside rows themselves are all kept


@dataclass(frozen=True)
class Lines:
    """Where a reader finds each delivered row in the file: CSV and JSON Lines by the line a
    text editor shows (a CSV header is line 1), Parquet and frames by the row number."""

    unit: str = "row"
    first: int = 1  # the number of the first row, when rows follow one another
    numbers: np.ndarray | None = None  # each row's own number, when they do not

    def of(self, positions: np.ndarray | list[int]) -> list[int]:
        at = np.asarray(positions, dtype=np.int64)
        found = self.numbers[at] if self.numbers is not None else at + self.first
        return [int(n) for n in found]


@dataclass(frozen=True)
class SchemaFailure:
    """One rule a batch broke: where (column, rows), what (rule, values) and in words."""

    column: str
    rule: str
    detail: str = ""
    rows: list[int] = field(default_factory=list)  # the first rows, 0-based as delivered
    values: list[str] = field(default_factory=list)
    count: int = 0  # rows that broke it; 0: a fault of the file itself
    lines: list[int] = field(default_factory=list)  # where `rows` are in the file
    unit: str = "line"  # what `lines` count: "line" (CSV, JSON Lines) or "row" (Parquet)
    key: KeyPath = ()  # the key of ct.yaml whose rule this is (none: a rule of the file format)
    # Where ct.yaml writes `key`, once `located`: its line, or 0 where it does not (a default).
    declared: int | None = None

    def describe(self) -> str:
        if self.column == "*":
            subject = "rows" if self.count else "file"
        else:
            subject = f"column {self.column!r}"
        detail = f": {self.detail}" if self.detail else ""
        many = f" in {self.count:,} row{'' if self.count == 1 else 's'}" if self.count else ""
        # Numbered as a reader finds them: `lines` (CSV, JSON Lines) or rows counted from 1.
        numbers = self.lines or [r + 1 for r in self.rows]
        unit = self.unit if self.lines else "row"
        if numbers:
            plural = "s" if len(numbers) > 1 else ""
            more = ", ..." if self.count > len(numbers) else ""
            where = f" at {unit}{plural} {', '.join(map(str, numbers))}{more}"
        else:
            where = ""
        notes = [shown_values(list(dict.fromkeys(self.values)))] if self.values else []
        if self.declared is not None:
            notes.append(declared_note(self.key, self.declared or None))
        notes = [n for n in notes if n]
        shown = f" ({'; '.join(notes)})" if notes else ""
        return f"{subject} {self.rule}{detail}{many}{where}{shown}"

    def located(self, locate: Locate) -> SchemaFailure:
        """The same failure knowing where ct.yaml declares its rule."""
        if not self.key:
            return self
        return replace(self, declared=locate(self.key) or 0)


def shown_values(values: list[str]) -> str:
    """Offending values as delivered, each quoted: 'values '12,50', 'n/a''."""
    quoted = ", ".join(repr(v) for v in values)
    return f"value{'s' if len(values) > 1 else ''} {quoted}"


@dataclass(frozen=True)
class Finding:
    """Every row of a batch that broke one rule in one column (none: a fault of the file)."""

    column: str
    rule: str
    detail: str = ""
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    values: list[str] = field(default_factory=list)  # aligned with positions
    key: KeyPath = ()  # the ct.yaml key of its rule, where the rule alone does not say it

    @property
    def whole_file(self) -> bool:
        """A fault no set of rows accounts for: the file is refused whatever the share."""
        return self.rule not in ROW_RULES or len(self.positions) == 0

    def moved(self, to: np.ndarray) -> Finding:
        """The same finding on a frame that was `to`'s rows of a larger one."""
        return replace(self, positions=to[self.positions])


def split_findings(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(faults of the whole file, faults of single rows)."""
    whole = [f for f in findings if f.whole_file]
    return whole, [f for f in findings if not f.whole_file]


def bad_rows(findings: list[Finding], delivered: int) -> np.ndarray:
    """Which rows broke a rule that counts toward the share (a row breaking two counts once)."""
    mask = np.zeros(delivered, dtype=bool)
    for f in findings:
        if f.rule != UNPLACED:
            mask[f.positions] = True
    return mask


def above_share(bad: int, delivered: int, limit: float) -> bool:
    """More bad rows than a batch may set aside and still go on."""
    return delivered > 0 and bad / delivered > limit


SHARE_KEY: KeyPath = ("quality", "max_bad_row_share")


def share_note(bad: int, delivered: int, limit: float) -> str:
    return (
        f"{bad:,} of {delivered:,} rows ({bad / delivered:.2%}) break row rules, above "
        f"quality.max_bad_row_share ({limit:.2%}): the whole file is refused"
    )


def rule_key(column: str, rule: str, spec: ProjectSpec) -> KeyPath:
    """The key of ct.yaml that makes `rule` a rule for `column` (none: a rule of the format)."""
    declared = ("dataset", "columns", column)
    own = spec.dataset.columns.get(column)
    if rule == "wrong_type":
        return (*declared, "type")
    if rule == "not_allowed_value":
        listed = own is not None and own.type == "category" and own.unseen == "refuse"
        return (*declared, "categories") if listed else (*declared, "checks", "isin")
    if rule == "pattern_mismatch":
        return (*declared, "checks", "regex")
    if rule == "null_value":
        if column == spec.dataset.label:
            return ("dataset", "roles", "label")
        return (*declared, "nullable")
    if rule == "missing_column":
        return declared
    if rule == "unexpected_column":
        return ("dataset", "columns")
    if rule == "duplicate_key":
        unique = own is not None and own.checks.unique
        return (*declared, "checks", "unique") if unique else ("dataset", "roles", "event_id")
    if rule == "duplicate_row":
        return ("quality", "duplicate_rows")
    if rule == "mostly_null":
        if own is not None and own.checks.max_null_share is not None:
            return (*declared, "checks", "max_null_share")
        return ("quality", "max_null_share")
    if rule in ("future_timestamp", "no_event_time"):
        return ("dataset", "roles", "event_time")
    return ()


def summarize(findings: list[Finding], lines: Lines, spec: ProjectSpec) -> list[SchemaFailure]:
    """One failure per (column, rule, key), naming how many rows and the first of them."""
    merged: dict[tuple[str, str, KeyPath], list[Finding]] = {}
    for f in findings:
        key = f.key or rule_key(f.column, f.rule, spec)
        merged.setdefault((f.column, f.rule, key), []).append(f)
    out = []
    for (column, rule, key), group in merged.items():
        positions = np.concatenate([f.positions for f in group])
        values = [
            v
            for f in group
            for v in (f.values if len(f.values) == len(f.positions) else [""] * len(f.positions))
        ]
        if not len(positions):
            out.append(SchemaFailure(column, rule, group[0].detail, unit=lines.unit, key=key))
            continue
        # In order, and a row two checks found (a blank that neither coerces nor is allowed)
        # named once.
        rows, once = np.unique(positions, return_index=True)
        first = rows[:SHOWN_ROWS]
        shown = [values[i] for i in once[:SHOWN_ROWS]] if any(values) else []
        out.append(
            SchemaFailure(
                column,
                rule,
                group[0].detail,
                [int(p) for p in first],
                shown,
                count=len(rows),
                lines=lines.of(first),
                unit=lines.unit,
                key=key,
            )
        )
    return out
