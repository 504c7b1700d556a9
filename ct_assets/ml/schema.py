"""The schema every batch must satisfy, built from the declared dataset, and why a batch is
refused or which of its rows are set aside.

The pandera `DataFrameSchema` is derived from `dataset.columns` (types, nullability, checks) and
the task (a binary label holds both classes); nothing here knows a dataset's column names.

A delivery is judged as ingest judges it (`split_rows`): a rule one row can break (a value out of
range, of the wrong type, a repeated row, ...) sets that row aside, and the rest of the batch goes
on while such rows are at most `quality.max_bad_row_share` of it; a fault of the file (a missing
column, a cut-off file, a mostly-null column, one class) or more bad rows than that refuses it
whole. Scoring a file judges it whole: every row asked for must be answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ct_assets.ingest.dialect import number_text, other_writing
from ct_assets.ml import balance
from ct_assets.ml.features import label_values
from ct_assets.ml.frames import BATCH, ROW_ID
from ct_assets.ml.vocabulary import BINARY
from ct_assets.project.load import KeyPath, Locate, declared_note
from ct_assets.project.spec import Column, ProjectSpec

# Producers' clocks drift; an event a few minutes ahead of ours is not "from the future".
FUTURE_TOLERANCE = timedelta(minutes=10)
# Text columns are Arrow-backed strings: pandera checks their dtype at once instead of testing
# every value with isinstance (which took 2 s of 3 on a million rows), and Parquet reads them
# without building a Python object per cell.
TEXT = pd.StringDtype("pyarrow")
TIME = pd.DatetimeTZDtype("ns", "UTC")
# Cells that mean "no value" when a number, a flag or a time is expected. Text columns keep them
# as written: there "NA" may be a country code.
NULL_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nil", "<na>", "#n/a"})
_NULL_SPELLINGS = frozenset(
    form for token in NULL_TOKENS for form in (token, token.upper(), token.capitalize())
)
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
EPOCH_UNITS = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}
# The end of an ISO time that carries its own offset: a time of day ("T13", "13:05",
# "130500.25"), then "Z" or an offset in hours ("+01", "-0530", "+05:30"). A date alone
# ("2026-03-01") has none. pandas reads no other spelling of an offset in ISO text.
_ISO_OFFSET = r"[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"
# A strftime format that reads an offset or a zone name.
_STRFTIME_OFFSET = re.compile(r"%[zZ]")

# pandera's check names, translated into the rule names ct reports.
_RULES = (
    (re.compile(r"^coerce_dtype\('(.+)'\)$"), "wrong_type"),
    (re.compile(r"^isin\("), "not_allowed_value"),
    (re.compile(r"^(greater|less)_than"), "out_of_range"),
    (re.compile(r"^in_range"), "out_of_range"),
    (re.compile(r"^str_matches\("), "pattern_mismatch"),
    (re.compile(r"^field_uniqueness$"), "duplicate_key"),
    (re.compile(r"^not_nullable$"), "null_value"),
    (re.compile(r"^column_in_schema$"), "unexpected_column"),
    (re.compile(r"^column_in_dataframe$"), "missing_column"),
)
# Restating a failed coercion as a dtype mismatch adds nothing a reader needs.
_REDUNDANT = re.compile(r"^dtype\(")
_FRAME = "ct_batch"  # the schema's name: frame-level failures carry it as their column


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


def dtype_of(column: Column) -> Any:
    if column.type == "int":
        return "Int64" if column.nullable else "int64"
    if column.type == "float":
        return "float64"
    if column.type == "bool":
        return "boolean" if column.nullable else "bool"
    if column.type == "datetime":
        return TIME
    return TEXT


def isin_values(column: Column) -> list[Any] | None:
    """The allowed values typed as the column is, for pandera's isin."""
    allowed = column.allowed
    if allowed is None:
        return None
    if column.type == "int":
        return [int(float(v)) for v in allowed]
    if column.type == "float":
        return [float(v) for v in allowed]
    if column.type == "bool":
        return [v in _TRUE for v in allowed]
    return list(allowed)


def _checks(name: str, column: Column, spec: ProjectSpec) -> list[pa.Check]:
    checks = []
    if column.checks.ge is not None:
        checks.append(pa.Check.ge(column.checks.ge))
    if column.checks.le is not None:
        checks.append(pa.Check.le(column.checks.le))
    allowed = isin_values(column)
    if allowed is not None:
        checks.append(pa.Check.isin(allowed))
    if column.checks.regex is not None:
        checks.append(pa.Check.str_matches(column.checks.regex))
    if name == spec.dataset.time:
        checks.append(
            pa.Check(
                lambda times: times <= pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE,
                name="future_timestamp",
            )
        )
    return checks


_SCHEMAS: dict[str, pa.DataFrameSchema] = {}


def build_schema(
    spec: ProjectSpec, unique: bool = True, typed: frozenset[str] = frozenset()
) -> pa.DataFrameSchema:
    """The pandera schema of the declared dataset (built once per declaration).

    `unique=False` leaves duplicates to `duplicates` (ingest judges them row by row); `typed`
    names columns that already hold their declared dtype, which are checked, not coerced: the
    coercion of a timestamp column re-parses every value (0.15-0.2 s a million rows) only to
    return it as it was.
    """
    key = spec.dataset.model_dump_json() + spec.task.model_dump_json()
    key += f"|{unique}|{sorted(typed)}"
    if key not in _SCHEMAS:
        event_id = spec.dataset.event_id
        _SCHEMAS[key] = pa.DataFrameSchema(
            {
                name: pa.Column(
                    dtype_of(column),
                    checks=_checks(name, column, spec),
                    nullable=column.nullable,
                    unique=unique and (column.checks.unique or name == event_id),
                    coerce=name not in typed,
                    description=column.description or None,
                )
                for name, column in spec.dataset.columns.items()
            },
            name=_FRAME,
            strict=True,
        )
    return _SCHEMAS[key]


def _already_typed(frame: pd.DataFrame, spec: ProjectSpec) -> frozenset[str]:
    """Declared columns whose values already have the declared dtype (typed Parquet, times
    parsed on read or by `prepare`)."""
    typed = set()
    for name, column in spec.dataset.columns.items():
        if name in frame.columns and frame[name].dtype == pd.api.types.pandas_dtype(
            dtype_of(column)
        ):
            typed.add(name)
    return frozenset(typed)


def rule_for(check: str) -> str:
    for pattern, rule in _RULES:
        if pattern.search(check):
            return rule
    return check


# A column the file and ct.yaml disagree about, in words.
_COLUMN_FAULTS = {
    "missing_column": "declared in ct.yaml, not in the file",
    "unexpected_column": "in the file, not declared in ct.yaml",
}
# The bound a range check of pandera's tests, by its name.
_BOUNDS = ((re.compile(r"^greater_than"), "ge"), (re.compile(r"^less_than"), "le"))


def bound_of(check: str) -> str | None:
    """ge or le: the declared bound a failed range check holds a value to."""
    return next((bound for pattern, bound in _BOUNDS if pattern.search(check)), None)


def _range_detail(bound: str | None, column: Column) -> str:
    ge, le = column.checks.ge, column.checks.le
    if bound == "ge" and ge is not None:
        return f"below the declared minimum {ge:g} (ge: {ge:g})"
    if bound == "le" and le is not None:
        return f"above the declared maximum {le:g} (le: {le:g})"
    bounds = [f"{k}: {v:g}" for k, v in (("ge", ge), ("le", le)) if v is not None]
    return f"outside the declared {', '.join(bounds)}"


def _detail(rule: str, check: str, column: Column | None, label: bool = False) -> str:
    """What a rule means for this column, in the words of ct.yaml (not pandera's check names)."""
    if column is None:
        return "" if rule != check else check
    checks = column.checks
    if rule == "wrong_type":
        return f"expected {column.type}"
    if rule == "out_of_range":
        return _range_detail(bound_of(check), column)
    if rule == "not_allowed_value":
        allowed = column.allowed or []
        listed = ", ".join(map(str, allowed[:8])) + (", ..." if len(allowed) > 8 else "")
        return f"not one of the declared values ({listed})"
    if rule == "pattern_mismatch":
        return f"does not match the declared regex {checks.regex!r}"
    if rule == "null_value":
        if label:
            return "blank label: every row needs one"
        return "blank in a column not declared nullable"
    if rule == "no_event_time":
        return "empty or unreadable: no partition holds the row"
    if rule == "duplicate_key":
        return "a value declared unique repeats"
    if rule == "future_timestamp":
        return f"later than now (+{int(FUTURE_TOLERANCE.total_seconds() // 60)} min)"
    return "" if rule != check else check


def _findings_from(
    errors: pa.errors.SchemaErrors, spec: ProjectSpec, delivered: pd.DataFrame
) -> list[Finding]:
    """Every failing row of every rule pandera reports (all of them: they are set aside), with
    the values as `delivered` (not as pandera coerced them: -1, not -1.0)."""
    cases = errors.failure_cases
    findings: list[Finding] = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        check = str(check)
        if _REDUNDANT.search(check):
            continue
        rule = rule_for(check)
        if column == _FRAME:
            # Frame-level checks name the offending column in the failure case itself.
            for name in group["failure_case"].tolist():
                findings.append(Finding(str(name), rule, _COLUMN_FAULTS.get(rule, "")))
            continue
        name = str(column)
        declared = spec.dataset.columns.get(name)
        rows = group[group["index"].notna()].sort_values("index", kind="stable")
        positions = rows["index"].to_numpy(dtype=np.int64)
        if len(rows) < len(group):
            # A check that failed on the column as a whole (it could not run): no row to blame.
            findings.append(_finding(name, rule, check, declared, spec))
        if not len(positions):
            continue
        if rule == "wrong_type" and name in delivered.columns:
            # A blank cell cannot be coerced to a number: it is a missing value, not a wrong one.
            blank = _missing_cells(delivered[name], spec, name).iloc[positions].isna().to_numpy()
            if blank.any():
                nulls = positions[blank]
                findings.append(_finding(name, "null_value", check, declared, spec, nulls))
                positions = positions[~blank]
            if not len(positions):
                continue
        shown = delivered[name].iloc[positions] if name in delivered.columns else None
        finding = _finding(name, rule, check, declared, spec, positions, shown)
        numeric = declared is not None and declared.type in ("int", "float")
        if rule == "wrong_type" and shown is not None and numeric:
            # Numbers written another way (1,5): say which declaration would read them.
            hint = other_writing(shown, spec.dataset.format)
            finding = replace(finding, detail=finding.detail + hint)
        findings.append(finding)
    return findings


def _finding(
    name: str,
    rule: str,
    check: str,
    declared: Column | None,
    spec: ProjectSpec,
    positions: np.ndarray | None = None,
    shown: pd.Series | None = None,
) -> Finding:
    """One rule broken in one column, in ct's words: its detail, its key, the values shown."""
    if rule == "null_value" and name == spec.dataset.time:
        rule = "no_event_time"  # the row cannot be placed in any partition
    detail = _detail(rule, check, declared, label=name == spec.dataset.label)
    key: KeyPath = ()
    if rule == "out_of_range":
        bound = bound_of(check)
        key = ("dataset", "columns", name, "checks", bound) if bound else ()
    at = np.zeros(0, dtype=np.int64) if positions is None else positions
    empty = rule in ("null_value", "no_event_time")
    values = [] if empty or shown is None else [str(v) for v in shown.tolist()]
    return Finding(name, rule, detail, at, values, key)


def one_class(frame: pd.DataFrame, spec: ProjectSpec) -> list[Finding]:
    """A binary label that holds one of its values only, where the count says the other was
    due: none of it in this many rows has under a 0.1% chance at the declared bound on the rate
    (`ml/balance.py`). A small batch of a rare class holding none goes on. Judged once the
    label is typed (a label that is not is named by its own rule)."""
    name = spec.dataset.label
    column = spec.dataset.columns.get(name)  # none in a file to score
    if spec.task.type != BINARY or column is None or name not in frame.columns or frame.empty:
        return []
    if frame[name].dtype != pd.api.types.pandas_dtype(dtype_of(column)):
        return []
    positives, rows = int(label_values(frame, spec).sum()), len(frame)
    if 0 < positives < rows:
        return []
    t = spec.quality
    judged = balance.judge(positives, rows, t.min_positive_rate, t.max_positive_rate)
    if judged.plausible:
        return []
    if positives == 0:  # judged at the lowest declared rate
        seen, due, bound, rate = spec.negative, spec.positive, "min", t.min_positive_rate
        expected, chance = rows * rate, judged.below
    else:  # judged at the highest
        seen, due, bound, rate = spec.positive, spec.negative, "max", t.max_positive_rate
        expected, chance = rows * (1 - rate), judged.above
    detail = (
        f"all {rows:,} rows are {seen!r}: {due!r} expected about {expected:,.0f} times at the "
        f"{bound}imum positive rate {balance.percent(rate)}, and none in {rows:,} rows has "
        f"{balance.odds(chance)}"
    )
    return [Finding(name, "single_class", detail, key=("quality", f"{bound}_positive_rate"))]


def _untyped_first(findings: list[Finding], untyped: set[str] | None = None) -> list[Finding]:
    # Once a column cannot be typed (a value of another type, or a blank where a number is
    # due), its range and set checks only fail on the same values (or on every value, compared
    # as text): they are judged again once its bad rows are gone.
    unread = {f.column for f in findings if f.rule == "wrong_type"} | (untyped or set())
    first = ("wrong_type", "null_value", "no_event_time")
    return [f for f in findings if f.column not in unread or f.rule in first]


def mostly_null_columns(frame: pd.DataFrame, spec: ProjectSpec) -> list[Finding]:
    findings = []
    for name in frame.columns:
        column = spec.dataset.columns.get(str(name))
        if column is None:
            continue
        limit = column.checks.max_null_share
        limit = spec.quality.max_null_share if limit is None else limit
        share = float(frame[name].isna().mean())
        if share > limit:
            findings.append(
                Finding(str(name), "mostly_null", f"{share:.0%} of rows are null (max {limit:.0%})")
            )
    return findings


def _written_with_offset(text: pd.Series) -> np.ndarray:
    """Which ISO times end in their own offset ("Z", "+05:30", "-0800", "+01") after a time
    of day. Arrow's regex kernel, not a Python call per cell."""
    found = text.astype(TEXT).str.contains(_ISO_OFFSET, regex=True)
    return found.fillna(False).to_numpy(dtype=bool)


def _localize(wall: pd.Series, zone: str) -> pd.Series:
    """Wall-clock times read as local times in `zone`, as UTC instants.

    Read as the serving path reads them (`datetime.replace(tzinfo=ZoneInfo(zone))`, fold=0), so
    that a time means the same instant in training and in serving, and no time of a DST change
    refuses a batch: an ambiguous time (the hour repeated when clocks go back) is its first
    occurrence, and a time that does not exist (the hour skipped when clocks go forward) is
    read with the offset in force before the gap, i.e. moved forward by the gap: 02:30 in
    Berlin on the last Sunday of March is 03:30 CEST (01:30 UTC).
    """
    first = np.ones(len(wall), dtype=bool)
    times = wall.dt.tz_localize(zone, ambiguous=first, nonexistent="NaT")
    skipped = (times.isna() & wall.notna()).to_numpy()
    if not skipped.any():
        return times.dt.tz_convert("UTC")
    gap = wall[skipped]
    # The last instant before the gap carries the offset in force before it.
    before = gap.dt.tz_localize(zone, ambiguous=first[: len(gap)], nonexistent="shift_backward")
    offset = before.dt.tz_localize(None) - before.dt.tz_convert("UTC").dt.tz_localize(None)
    return _patched(times.dt.tz_convert("UTC"), skipped, (gap - offset).dt.tz_localize("UTC"))


def _patched(times: pd.Series, where: np.ndarray, values: pd.Series) -> pd.Series:
    """UTC `times` with the positions `where` replaced by `values`, in order."""
    out = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").copy()
    out[where] = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return pd.Series(out, index=times.index, name=times.name).dt.tz_localize("UTC")


def parse_times(values: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    """Times of a datetime column in UTC, and which non-null values could not be read.

    A time written with its own offset ("Z", "+01:00", or %z in a strftime format) keeps it; one
    written without (ISO text without an offset, a strftime format without %z, timestamps typed
    without a zone) is a local time in the column's declared timezone; epoch numbers are
    absolute. A column may mix both: each value is read by what it carries.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(TIME), np.zeros(len(values), dtype=bool)
    fmt = column.format or "iso"
    if fmt in EPOCH_UNITS:
        numbers = pd.to_numeric(values, errors="coerce")
        times = pd.to_datetime(numbers, unit=EPOCH_UNITS[fmt], utc=True, errors="coerce")  # type: ignore[call-overload]
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        times = _localize(values, column.timezone)
    else:
        text = values.astype(object).where(values.notna(), None)
        kwargs: dict[str, Any] = {"format": "ISO8601" if fmt == "iso" else fmt}
        # utc=True reads every value, offset or not: offsets are applied, and a value without
        # one comes back with its wall clock unchanged, to be read in the declared zone below.
        times = pd.to_datetime(text, errors="coerce", utc=True, **kwargs)
        if column.timezone != "UTC" and not (fmt != "iso" and _STRFTIME_OFFSET.search(fmt)):
            naive = ~_written_with_offset(values) if fmt == "iso" else None
            if naive is None or naive.all():
                times = _localize(times.dt.tz_localize(None), column.timezone)
            elif naive.any():
                local = _localize(times[naive].dt.tz_localize(None), column.timezone)
                times = _patched(times, naive, local)
    bad = (times.isna() & values.notna()).to_numpy()
    return times.dt.tz_convert("UTC").astype(TIME), bad


def _as_bools(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values, np.zeros(len(values), dtype=bool)
    # Arrow's string kernels, not a Python call per cell: a million flags take 60 ms, not 1 s.
    text = values.astype("string[pyarrow]").str.strip().str.lower()
    true = text.isin(_TRUE).to_numpy(dtype=bool)
    false = text.isin(_FALSE).to_numpy(dtype=bool)
    unread = ~(true | false)
    bad = unread & values.notna().to_numpy()
    return pd.Series(pd.arrays.BooleanArray(true, unread), index=values.index), bad


def _typing_finding(name: str, values: pd.Series, bad: np.ndarray, kind: str) -> Finding:
    rows = np.flatnonzero(bad)
    shown = [str(v) for v in values.iloc[rows].tolist()]
    return Finding(name, "wrong_type", f"expected {kind}", rows, shown)


def prepare(frame: pd.DataFrame, spec: ProjectSpec) -> tuple[pd.DataFrame, list[Finding]]:
    """Read what pandera's coercion reads wrongly or not at all: booleans written as text
    ('false' is a non-empty string, so truthy), times in their declared format (ISO, epoch or
    a strftime pattern; pandera's coercion guesses one) and zone. Values that cannot be read are
    named here, as wrong_type."""
    failures = []
    delivery = spec.dataset.format
    for name, column in spec.dataset.columns.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        if column.type in ("int", "float") and values.dtype == object:
            if delivery.plain_numbers:
                continue  # the schema's coercion reads them, and names what it cannot
            # Decimal commas and digit groups rewritten as Python reads numbers; any other
            # writing refused here (1.234 under a decimal comma is not 1.234), saying which
            # declaration the values fit when they fit another.
            typed, bad = number_text(values, delivery)
            if bad.any():
                declared = "" if delivery.plain_numbers else f" ({delivery.numbers_described()})"
                kind = column.type + declared + other_writing(values[bad], delivery)
                failures.append(_typing_finding(name, values, bad, kind))
            frame[name] = typed
            continue
        if column.type == "bool":
            typed, bad = _as_bools(values)
        elif column.type == "datetime" and not (
            isinstance(values.dtype, pd.DatetimeTZDtype)
            and (column.format or "iso") == "iso"
            and column.timezone == "UTC"
        ):
            # Times Arrow already read as ISO in UTC (or typed Parquet) are the fast path. Any
            # other text is read exactly as declared: pandera's coercion would guess a format
            # (05/03/2026 read as 3 May under an ISO declaration) where ct refuses.
            typed, bad = parse_times(values, column)
        else:
            continue
        if bad.any():
            kind = (
                "true or false" if column.type == "bool" else f"a time ({column.format or 'iso'})"
            )
            failures.append(_typing_finding(name, values, bad, kind))
        frame[name] = typed
    return frame, failures


def _missing_cells(values: pd.Series, spec: ProjectSpec, name: str) -> pd.Series:
    declared = spec.dataset.format.nulls
    if declared is not None:
        # The declared spellings in every column, exactly as written (a surrounding space too).
        tokens = {"", *declared}
        return values.mask(values.isin(tokens) | values.str.strip().isin(tokens))
    column = spec.dataset.columns.get(name)
    if column is None or column.type in ("string", "category"):
        return values.replace("", np.nan)
    return values.mask(values.isin(_NULL_SPELLINGS))


def _attempt(
    frame: pd.DataFrame, spec: ProjectSpec, unique: bool
) -> tuple[pd.DataFrame | None, list[Finding]]:
    """One validation of `frame` (indexed 0..n-1): its typed rows, or every finding."""
    # An empty CSV cell is a missing value, not an empty string that happens to coerce, and in
    # a column of numbers, flags or times so is "NA" or "null". Only text as delivered (object
    # columns from CSV and JSON) has cells; typed Parquet has values.
    # A shallow copy: columns are replaced below, never written into, so the delivered frame
    # stays as delivered (set-aside rows are kept from it) without a copy of every value
    # (`assign` copied a million rows, ~0.1 s).
    text = frame.copy(deep=False)
    for c in frame.select_dtypes(include="object").columns:
        text[c] = _missing_cells(frame[c], spec, str(c))
    text, typing = prepare(text, spec)
    mostly_null = mostly_null_columns(text, spec)
    schema = build_schema(spec, unique, _already_typed(text, spec))
    try:
        # In place: the frame was parsed for this call, and a copy of a million rows costs.
        typed = schema.validate(text, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as errors:
        # A mostly-null column is one reason, not hundreds of null-value rows; a column that
        # could not be read is one wrong_type, not also its nulls.
        drowned = {f.column for f in mostly_null}
        unreadable = {f.column for f in typing}
        rest = [
            f
            for f in _findings_from(errors, spec, frame)
            if f.column not in unreadable and not (f.column in drowned and f.rule == "null_value")
        ]
        cases = errors.failure_cases
        coerced = cases["check"].astype(str).str.startswith("coerce_dtype")
        untyped = {str(c) for c in cases.loc[coerced, "column"]}
        findings = typing + mostly_null + rest + one_class(text, spec)
        return None, _untyped_first(findings, untyped)
    classes = one_class(typed, spec)
    if typing or mostly_null or classes:
        return None, typing + mostly_null + classes
    columns = list(schema.columns)
    if list(typed.columns) != columns:
        typed = typed[columns]
    if not typed.index.equals(pd.RangeIndex(len(typed))):
        typed = typed.reset_index(drop=True)
    return typed, []


def validate_batch(
    frame: pd.DataFrame,
    source: str,
    spec: ProjectSpec,
    *,
    lines: Lines | None = None,
    split_rows: bool = False,
    place: Callable[[pd.Series], np.ndarray] | None = None,
) -> ValidationOutcome:
    """Type and check a frame against the declared dataset, collecting every failure at once.

    With `split_rows` (ingest: the quarantine, `ct check`, `ct quarantine readmit`) a row that
    breaks a row rule is set aside and the rest of the batch goes on, up to
    `quality.max_bad_row_share`; `place` says which typed event times fit the batch's
    partitions (the others are set aside as no_partition). Without it any failure refuses the
    frame: a file to score must be scored whole. `lines` says where each row is in the file.
    """
    lines = lines or Lines()
    if frame.empty:
        return ValidationOutcome(source, None, [SchemaFailure("*", "header_only", "no rows")])
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    if split_rows:
        return _judge_rows(frame, source, spec, lines, place)
    typed, findings = _attempt(frame, spec, unique=True)
    if typed is None:
        return ValidationOutcome(source, None, summarize(findings, lines, spec), len(frame))
    return ValidationOutcome(source, typed, [], len(frame))


# A batch with bad rows is validated again without them, to type the rest and to judge what the
# bad values hid (a column that could not be typed was not range-checked): at most this often.
MAX_PASSES = 3


def _judge_rows(
    frame: pd.DataFrame,
    source: str,
    spec: ProjectSpec,
    lines: Lines,
    place: Callable[[pd.Series], np.ndarray] | None,
) -> ValidationOutcome:
    delivered = len(frame)
    limit = spec.quality.max_bad_row_share
    keep = np.arange(delivered)
    marks: list[Finding] = []
    unique = True
    typed: pd.DataFrame | None = None
    for _ in range(MAX_PASSES):
        part = frame if len(keep) == delivered else frame.iloc[keep].reset_index(drop=True)
        typed, findings = _attempt(part, spec, unique)
        # Repeated ids are judged with repeated rows, once the rows are typed (`duplicates`).
        findings = [f.moved(keep) for f in findings if f.rule != "duplicate_key"]
        whole, rows = split_findings(findings)
        marks += rows
        bad = int(bad_rows(marks, delivered).sum())
        if whole:
            return _refused(source, frame, spec, lines, whole + marks)
        if above_share(bad, delivered, limit):
            return _refused(source, frame, spec, lines, marks, share_note(bad, delivered, limit))
        if typed is not None:
            break
        keep = np.flatnonzero(~bad_rows(marks, delivered))
        unique = False
    if typed is None:
        return _refused(source, frame, spec, lines, marks)
    marks += [f.moved(keep) for f in _after_typing(typed, spec, place, keys_checked=unique)]
    if not marks:
        return ValidationOutcome(source, typed, [], delivered)  # the common path: a clean batch
    bad = int(bad_rows(marks, delivered).sum())
    if above_share(bad, delivered, limit):
        return _refused(source, frame, spec, lines, marks, share_note(bad, delivered, limit))
    held = np.zeros(delivered, dtype=bool)
    for f in marks:
        held[f.positions] = True
    good = ~held[keep]
    if not good.all():
        typed = typed[good].reset_index(drop=True)
    return ValidationOutcome(
        source,
        typed,
        [],
        delivered,
        set_aside=_set_aside(frame, marks, lines, spec),
        kept=keep[good],
    )


def _after_typing(
    typed: pd.DataFrame,
    spec: ProjectSpec,
    place: Callable[[pd.Series], np.ndarray] | None,
    keys_checked: bool,
) -> list[Finding]:
    """Rules judged on typed rows: a row with no event time, or one outside the batch's
    partitions, cannot be placed; rows delivered twice."""
    time = spec.dataset.time
    times = typed[time]
    blank = times.isna().to_numpy()
    findings = []
    if blank.any():
        # Even where the time may be empty: a row without one belongs to no partition, and a
        # row no partition holds would vanish uncounted.
        detail = "empty or unreadable: no partition holds the row"
        findings.append(Finding(time, "no_event_time", detail, np.flatnonzero(blank)))
    if place is not None:
        outside = ~blank & ~place(times)
        if outside.any():
            at = np.flatnonzero(outside)
            shown = [str(t) for t in times.iloc[at].tolist()]
            detail = "the event time is in none of the batch's partitions"
            findings.append(Finding(time, UNPLACED, detail, at, shown))
    return findings + duplicates(typed, spec, keys_checked)


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


def event_times_of(frame: pd.DataFrame, spec: ProjectSpec) -> pd.Series:
    """Each delivered row's event time in UTC, NaT where it cannot be read (or is not there)."""
    name = spec.dataset.time
    if name not in frame.columns:
        return pd.Series(pd.NaT, index=pd.RangeIndex(len(frame)), dtype=TIME)
    times, _ = parse_times(frame[name], spec.column(name))
    return times.reset_index(drop=True)


def _refused(
    source: str,
    frame: pd.DataFrame,
    spec: ProjectSpec,
    lines: Lines,
    findings: list[Finding],
    share: str = "",
) -> ValidationOutcome:
    return ValidationOutcome(
        source,
        None,
        summarize(findings, lines, spec),
        len(frame),
        share=share,
        times=event_times_of(frame, spec),
    )


def _set_aside(
    frame: pd.DataFrame, marks: list[Finding], lines: Lines, spec: ProjectSpec
) -> SetAside:
    """The rows set aside as delivered (text), each with its line, its rules and columns."""
    marked = pd.DataFrame(
        {
            "at": np.concatenate([f.positions for f in marks]),
            "rule": np.repeat([f.rule for f in marks], [len(f.positions) for f in marks]),
            "column": np.repeat([f.column for f in marks], [len(f.positions) for f in marks]),
        }
    )
    by_row = marked.groupby("at", sort=True)
    rules = by_row["rule"].agg(lambda r: ";".join(sorted(set(r))))
    columns = by_row["column"].agg(lambda c: ";".join(sorted(set(c))))
    positions = rules.index.to_numpy(dtype=np.int64)
    rows = frame.iloc[positions].reset_index(drop=True)
    times = event_times_of(rows, spec)
    written = times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    keys = pd.DataFrame(
        {
            f"ct_{lines.unit}": lines.of(positions),
            HELD_RULES: rules.to_numpy(),
            HELD_COLUMNS: columns.to_numpy(),
            HELD_TIME: written.to_numpy(),
        }
    )
    text = rows.astype(object).where(rows.notna(), "").astype(str)
    return SetAside(pd.concat([keys, text], axis=1), times, summarize(marks, lines, spec))


def empty_events(spec: ProjectSpec) -> pd.DataFrame:
    """A typed frame with no rows, for partitions whose batches were all refused."""
    schema = build_schema(spec)
    frame = pd.DataFrame({n: pd.Series(dtype=dtype_of(c)) for n, c in spec.dataset.columns.items()})
    return frame[list(schema.columns)].assign(
        **{BATCH: pd.Series(dtype=TEXT), ROW_ID: pd.Series(dtype=TEXT)}
    )
