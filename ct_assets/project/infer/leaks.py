"""Leaks: features left out because alone they (nearly) give the label in the sample.

A copy of the label, a second label (named like one, or the label written another way), a value
or one threshold that decides the class, or (regression) a rescaling of the label: each likely
known only once the outcome is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ml.leakage import (
    either_way_auc,
    linear_correlation,
    rank_correlation,
    value_purity,
)
from ct_assets.project.infer.base import MAX_CATEGORIES, Guess
from ct_assets.project.infer.profile import TRUE_TEXT, Profile, plain, shown_value
from ct_assets.project.infer.words import LABEL_NAMES, normalized

# A feature that alone gives the label this well in the sample is left out as a likely leak,
# known only once the outcome is: its value gives each class in this share of the class's rows,
# one threshold on it splits the classes with this ROC AUC, or (regression) it moves with the
# label this closely (|Pearson r| or |Spearman rho|). Training's own guard (`ml/leakage.py`)
# flags from 0.999 on the holdout; here, before any data is trusted, a little earlier.
LEAK_SCORE = 0.99
# With fewer rows of either class (regression: twice this many rows) a near-perfect score may be
# luck; above it, a column of noise scores 0.99 with odds well under one in a million.
LEAK_MIN_ROWS = 10


def copies_of(frame: pd.DataFrame, label: str, features: list[str]) -> list[str]:
    """Features whose values are the label's, as written, in every row of the sample."""
    text = frame[label].astype(str)
    return [f for f in features if frame[f].astype(str).equals(text)]


def leaks_of(
    frame: pd.DataFrame,
    profiles: dict[str, Profile],
    label: str,
    positive: Guess | None,
    features: list[str],
) -> dict[str, str]:
    """Features that alone (nearly) give the label in the sample, with why: a second label
    (named like one, or the label written another way), a value that decides the class, a
    threshold that splits the classes, or (regression) a rescaling of the label. Each is likely
    known only once the outcome is; the reason says how to keep it if it is not."""
    keep = "add it back to features.columns only if it is known before the outcome"
    found = {}
    if positive is not None:
        hits = _label_hits(frame[label], profiles[label], positive.column)
        values = [plain(x) for x in profiles[label].counts.index]
        negative = next((v for v in values if v != positive.column), None)
        for name in features:
            why = _binary_leak(frame[name], profiles[name], hits, label, positive.column, negative)
            if why is not None:
                found[name] = f"{why}; {keep}"
    else:
        target = pd.to_numeric(frame[label], errors="coerce")
        for name in features:
            why = _regression_leak(frame[name], profiles[name], target, label)
            if why is not None:
                found[name] = f"{why}; {keep}"
    for name in features:
        if name not in found and _named_like_a_label(name):
            found[name] = (
                f"named like a label, beside the label {label}: another outcome, known only "
                f"once it is; {keep}"
            )
    return found


def _named_like_a_label(name: str) -> bool:
    # A whole name only: a target_price or a label_color is a feature like any other.
    return normalized(name) in LABEL_NAMES


def _label_hits(values: pd.Series, p: Profile, positive: Any) -> np.ndarray:
    """1 where a binary label holds its positive value, as the profile read the column."""
    if p.kind == "bool":
        text = values.astype(str).str.strip().str.lower()
        hits = text.isin(TRUE_TEXT | {"true"}) == bool(positive)
    elif p.kind in ("int", "float"):
        hits = pd.to_numeric(values, errors="coerce") == float(positive)
    else:
        hits = values.astype(str) == str(positive)
    return hits.to_numpy(dtype=np.int64)


def _binary_leak(
    values: pd.Series, p: Profile, hits: np.ndarray, label: str, positive: Any, negative: Any
) -> str | None:
    few = min(int(hits.sum()), int(len(hits) - hits.sum()))
    if few < LEAK_MIN_ROWS:
        return None
    if p.distinct <= MAX_CATEGORIES:
        # Missing is a value too: a column empty exactly where the label is 0 gives it away.
        text = values.astype(object).where(values.notna(), "").astype(str)
        purity = value_purity(text, hits)
        if purity >= LEAK_SCORE and p.distinct == 2:
            written = _recoding(text, hits, positive, negative)
            return (
                f"the label {label} written another way ({written}) in {purity:.1%} of the rows "
                "of each class: a second label, known only once the outcome is (it would leak it)"
            )
        if purity >= LEAK_SCORE:
            return (
                f"its value gives the label {label} in {purity:.1%} of the rows of each class "
                "(each row judged by the other rows holding its value): it nearly decides the "
                "answer, so it is likely known only once the outcome is (a leak)"
            )
    if p.kind not in ("int", "float"):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    known = numbers.notna().to_numpy()
    y = hits[known]
    if min(int(y.sum()), int(len(y) - y.sum())) < LEAK_MIN_ROWS:
        return None
    auc = either_way_auc(numbers[known].to_numpy(dtype=float), y)
    if auc < LEAK_SCORE:
        return None
    return (
        f"one threshold on it splits the classes of the label {label} with ROC AUC {auc:.3f} "
        f"(a leak from {LEAK_SCORE:g}): it nearly decides the answer, so it is likely known only "
        "once the outcome is"
    )


def _recoding(text: pd.Series, hits: np.ndarray, positive: Any, negative: Any) -> str:
    """How a two-valued column writes the label: "'yes' where it is 1, 'no' where it is 0"."""
    share = pd.Series(hits).groupby(text.to_numpy()).mean()
    parts = [
        f"{value!r} where it is {shown_value(positive if rate >= 0.5 else negative)}"
        for value, rate in share.sort_values(ascending=False).items()
    ]
    return ", ".join(parts)


def _regression_leak(values: pd.Series, p: Profile, target: pd.Series, label: str) -> str | None:
    if p.kind not in ("int", "float"):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    known = (numbers.notna() & target.notna()).to_numpy()
    if known.sum() < 2 * LEAK_MIN_ROWS:
        return None
    x, y = numbers[known].to_numpy(dtype=float), target[known].to_numpy(dtype=float)
    linear, ranks = linear_correlation(x, y), rank_correlation(x, y)
    if max(linear or 0.0, ranks or 0.0) < LEAK_SCORE:
        return None
    return (
        f"it moves with the label {label} (|Pearson r| {linear or 0:.3f}, |Spearman rho| "
        f"{ranks or 0:.3f}; a leak from {LEAK_SCORE:g}): a rescaling of the answer, likely known "
        "only once the outcome is"
    )
