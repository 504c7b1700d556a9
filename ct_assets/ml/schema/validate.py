"""Validating a delivered batch against the declared dataset: cells typed, the pandera schema
checked, then the rules of typed rows (event time, partitions, duplicates).

A delivery is judged as ingest judges it (`split_rows`): a rule one row can break sets that row
aside, and the rest of the batch goes on while such rows are at most
`quality.max_bad_row_share` of it; a fault of the file or more bad rows than that refuses it
whole. Scoring a file judges it whole: every row asked for must be answered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ct_assets.ml.frames import BATCH, ROW_ID
from ct_assets.ml.schema.cells import TEXT, event_times_of, missing_cells, prepare
from ct_assets.ml.schema.duplicates import duplicates
from ct_assets.ml.schema.file_rules import mostly_null_columns, one_class
from ct_assets.ml.schema.findings import (
    UNPLACED,
    Finding,
    Lines,
    SchemaFailure,
    above_share,
    bad_rows,
    share_note,
    split_findings,
    summarize,
)
from ct_assets.ml.schema.outcome import (
    HELD_COLUMNS,
    HELD_RULES,
    HELD_TIME,
    SetAside,
    ValidationOutcome,
)
from ct_assets.ml.schema.pandera_schema import already_typed, build_schema, dtype_of, findings_from
from ct_assets.project.spec import ProjectSpec


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
        text[c] = missing_cells(frame[c], spec, str(c))
    text, typing = prepare(text, spec)
    mostly_null = mostly_null_columns(text, spec)
    schema = build_schema(spec, unique, already_typed(text, spec))
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
            for f in findings_from(errors, spec, frame)
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


def _untyped_first(findings: list[Finding], untyped: set[str] | None = None) -> list[Finding]:
    # Once a column cannot be typed (a value of another type, or a blank where a number is
    # due), its range and set checks only fail on the same values (or on every value, compared
    # as text): they are judged again once its bad rows are gone.
    unread = {f.column for f in findings if f.rule == "wrong_type"} | (untyped or set())
    first = ("wrong_type", "null_value", "no_event_time")
    return [f for f in findings if f.column not in unread or f.rule in first]


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
