"""The schema every batch must satisfy, built from the declared dataset, and why a batch is
refused or which of its rows are set aside.

The pandera `DataFrameSchema` is derived from `dataset.columns` (types, nullability, checks) and
the task (a binary label holds both classes); nothing here knows a dataset's column names.

A delivery is judged as ingest judges it (`split_rows`): a rule one row can break (a value out of
range, of the wrong type, a repeated row, ...) sets that row aside, and the rest of the batch goes
on while such rows are at most `quality.max_bad_row_share` of it; a fault of the file (a missing
column, a cut-off file, a mostly-null column, one class) or more bad rows than that refuses it
whole. Scoring a file judges it whole: every row asked for must be answered.

By concern:
- `findings`: what a batch broke and where (`Finding`, `SchemaFailure`, `Lines`), row rules
  against file faults, the share of bad rows, the key of ct.yaml behind each rule;
- `cells`: typing delivered text (null tokens, booleans, numbers, times in their zone);
- `pandera_schema`: the pandera schema of the declaration, and its failures in ct's words;
- `file_rules`: a mostly-null column, a binary label of one class;
- `duplicates`: rows delivered twice;
- `outcome`: `ValidationOutcome` and the rows it sets aside (`SetAside`);
- `validate`: `validate_batch`, which runs them all.
"""

from __future__ import annotations

from ct_assets.ml.schema.cells import (
    EPOCH_UNITS,
    NULL_TOKENS,
    TEXT,
    TIME,
    event_times_of,
    parse_times,
    prepare,
)
from ct_assets.ml.schema.duplicates import duplicates, exact_copies
from ct_assets.ml.schema.file_rules import mostly_null_columns, one_class
from ct_assets.ml.schema.findings import (
    ROW_RULES,
    SHARE_KEY,
    SHOWN_ROWS,
    UNPLACED,
    Finding,
    Lines,
    SchemaFailure,
    above_share,
    bad_rows,
    rule_key,
    share_note,
    shown_values,
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
from ct_assets.ml.schema.pandera_schema import (
    FUTURE_TOLERANCE,
    bound_of,
    build_schema,
    dtype_of,
    isin_values,
    rule_for,
)
from ct_assets.ml.schema.validate import MAX_PASSES, empty_events, validate_batch

__all__ = [
    "EPOCH_UNITS",
    "FUTURE_TOLERANCE",
    "HELD_COLUMNS",
    "HELD_RULES",
    "HELD_TIME",
    "MAX_PASSES",
    "NULL_TOKENS",
    "ROW_RULES",
    "SHARE_KEY",
    "SHOWN_ROWS",
    "TEXT",
    "TIME",
    "UNPLACED",
    "Finding",
    "Lines",
    "SchemaFailure",
    "SetAside",
    "ValidationOutcome",
    "above_share",
    "bad_rows",
    "bound_of",
    "build_schema",
    "dtype_of",
    "duplicates",
    "empty_events",
    "event_times_of",
    "exact_copies",
    "isin_values",
    "mostly_null_columns",
    "one_class",
    "parse_times",
    "prepare",
    "rule_for",
    "rule_key",
    "share_note",
    "shown_values",
    "split_findings",
    "summarize",
    "validate_batch",
]
