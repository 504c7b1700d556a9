"""Rules about a batch as a whole that the pandera schema does not state: a column mostly null,
a binary label that holds one class where the other was due. Either refuses the file whole.
"""

from __future__ import annotations

import pandas as pd

from ct_assets.ml import balance
from ct_assets.ml.features import label_values
from ct_assets.ml.schema.findings import Finding
from ct_assets.ml.schema.pandera_schema import dtype_of
from ct_assets.ml.vocabulary import BINARY
from ct_assets.project.spec import ProjectSpec


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
