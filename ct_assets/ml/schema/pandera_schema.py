"""The pandera `DataFrameSchema` derived from `dataset.columns` (types, nullability, checks),
and pandera's failure cases translated back into ct's rules, in the words of ct.yaml.

Nothing here knows a dataset's column names.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ct_assets.ingest.dialect import other_writing
from ct_assets.ml.schema.cells import TEXT, TIME, TRUE_WORDS, missing_cells
from ct_assets.ml.schema.findings import Finding
from ct_assets.project.load import KeyPath
from ct_assets.project.spec import Column, ProjectSpec

# Producers' clocks drift; an event a few minutes ahead of ours is not "from the future".
FUTURE_TOLERANCE = timedelta(minutes=10)


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
        return [v in TRUE_WORDS for v in allowed]
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


def already_typed(frame: pd.DataFrame, spec: ProjectSpec) -> frozenset[str]:
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


def findings_from(
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
            blank = missing_cells(delivered[name], spec, name).iloc[positions].isna().to_numpy()
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
