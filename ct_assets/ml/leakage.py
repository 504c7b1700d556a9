"""Leak guards: features that score the holdout for a reason that will not hold tomorrow.

A time holdout is the newest slice of the window, so it agrees with the training rows about
anything that names the partition: a day of week in daily partitions is constant within each
partition and unique within a 7-day window, so trees learn "this weekday follows these rules",
the holdout (the newest weekday, already seen in training on its first rows or not at all)
agrees, and the next day is a weekday the model never saw in that regime. Measured on a stream
whose labels change rule from one day on: holdout ROC AUC 0.94-0.95 with the calendar
features, 0.51-0.53 on the next day; without them 0.69-0.75 on both.

A feature that alone orders the holdout almost perfectly is a copy or a rescaling of the label
(a refund flag, an outcome code): the models would read the answer. A feature that needs a
non-monotone rule or other features to decide the label is not flagged, however well it
predicts: that is what a model is for.

Pure: frames in, reasons out. Nothing here trains a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ct_assets.ml.frames import LABEL, PARTITION
from ct_assets.ml.vocabulary import BINARY

# A partition "holds one value" of a feature when its most frequent value covers this share of
# its rows: a day of week computed in a zone other than the partitions' (UTC) spans two values
# in each partition, 19 and 5 hours of it at UTC-5.
PARTITION_CONSTANT_SHARE = 0.75
# A value seen in at most this many other partitions of the window cannot carry a pattern a
# model can learn there: it names the partition it was seen in.
MAX_PARTITIONS_SEEN = 1
# The newest partition is judged by its rows whose values were seen that rarely: above half of
# them, the feature names partitions rather than describes events.
NEW_VALUE_SHARE = 0.5
# Fewer rows of either class (or in all, for regression) and a near-perfect score is luck.
MIN_ROWS_PER_CLASS = 30
MIN_VALUE_ROWS = 10


def dominant_share(values: pd.Series, partitions: pd.Series) -> float:
    """The mean, over partitions holding any value, of the share of the partition's non-null
    rows that hold its most frequent value (1.0: constant within every partition)."""
    frame = pd.DataFrame({"p": partitions.to_numpy(), "v": values.to_numpy()}).dropna()
    if frame.empty:
        return 0.0
    counts = frame.groupby(["p", "v"], sort=False, observed=True).size()
    top = counts.groupby(level=0, sort=False).max()
    totals = counts.groupby(level=0, sort=False).sum()
    return float((top / totals).mean())


def new_value_share(values: pd.Series, partitions: pd.Series, newest: str) -> float:
    """Share of the newest partition's non-null rows whose value was seen in at most
    `MAX_PARTITIONS_SEEN` other partitions of the window."""
    frame = pd.DataFrame({"p": partitions.to_numpy(), "v": values.to_numpy()}).dropna()
    mine = frame[frame["p"] == newest]["v"]
    if mine.empty:
        return 0.0
    others = frame[frame["p"] != newest].drop_duplicates()
    seen_in = others.groupby("v", observed=True)["p"].nunique()
    seen = mine.map(seen_in).fillna(0).to_numpy()
    return float(np.mean(seen <= MAX_PARTITIONS_SEEN))


def partition_identifying(window: pd.DataFrame, features: Sequence[str]) -> dict[str, str]:
    """Features that name the partition instead of describing the event, with why.

    Judged on the whole window whatever the split: a feature (nearly) constant within each
    partition whose values in the newest partition were seen in at most one other partition.
    Tomorrow is a partition too, and its value will be as new to the model.
    """
    partitions = window[PARTITION]
    if partitions.nunique() < 2:
        return {}
    newest = str(partitions.max())
    found: dict[str, str] = {}
    for name in features:
        values = window[name]
        constant = dominant_share(values, partitions)
        if constant < PARTITION_CONSTANT_SHARE:
            continue
        new = new_value_share(values, partitions, newest)
        if new <= NEW_VALUE_SHARE:
            continue
        found[name] = (
            f"names the partition: {constant:.0%} of each partition's rows hold one value, and "
            f"{new:.0%} of {newest}'s rows hold a value seen in at most {MAX_PARTITIONS_SEEN} "
            f"other partition of the window ({partitions.nunique()} partitions): a model would "
            "learn which partition a row is from, which tomorrow's rows never match"
        )
    return found


def copies_of_label(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, str]:
    """Features equal to the label on every row."""
    labels = frame[LABEL].to_numpy(dtype=float)
    found = {}
    for name in features:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        if len(values) and np.array_equal(values, labels):
            found[name] = "equals the label on every row: the model would read the answer"
    return found


def either_way_auc(values: np.ndarray, labels: np.ndarray) -> float:
    """The ROC AUC of a feature alone, either way round: 1 for a single threshold that splits
    the classes, whichever side is positive."""
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(labels, values))
    return max(auc, 1.0 - auc)


def rank_correlation(values: np.ndarray, labels: np.ndarray) -> float | None:
    """|Spearman's rho|: 1 for any monotone rescaling of the label (None: a constant)."""
    return linear_correlation(
        pd.Series(values).rank().to_numpy(), pd.Series(labels).rank().to_numpy()
    )


def linear_correlation(values: np.ndarray, labels: np.ndarray) -> float | None:
    """|Pearson's r|: 1 for a linear rescaling of the label (None: a constant)."""
    if np.std(values) == 0 or np.std(labels) == 0:
        return None
    return float(abs(np.corrcoef(values, labels)[0, 1]))


def value_purity(values: pd.Series, labels: np.ndarray) -> float:
    """How nearly a feature's value alone gives a binary label: over the two classes, the mean
    share of a class's rows whose value the other rows holding it mostly give that class.

    Each row is judged by the other rows (leave one out): a value seen once says nothing, so
    an id or a near-unique column, which trivially "determines" any label in-sample, scores
    nothing; and each class counts alike, so a rare class is not ignored for a share of rows
    a constant would get right."""
    counts = pd.crosstab(values.to_numpy(), labels).reindex(columns=[0, 1], fill_value=0)
    negatives, positives = counts[0].to_numpy(), counts[1].to_numpy()
    right = [
        (negatives * (negatives - 1 > positives)).sum() / max(1, negatives.sum()),
        (positives * (positives - 1 > negatives)).sum() / max(1, positives.sum()),
    ]
    return float(np.mean(right))


def _binary_score(values: pd.Series, labels: np.ndarray, categorical: bool) -> float | None:
    """How well the feature alone orders the classes: the ROC AUC of its values (either way
    round), or for a category the share of rows whose value holds a single class."""
    known = values.notna().to_numpy()
    y = labels[known]
    if min(int(y.sum()), int(len(y) - y.sum())) < MIN_ROWS_PER_CLASS:
        return None
    if categorical:
        frame = pd.DataFrame({"v": values[known].to_numpy(), "y": y})
        grouped = frame.groupby("v")["y"]
        # A value seen a few times is single-class by chance: only values common enough to
        # judge count, and they must be most of the rows.
        common = (grouped.transform("size") >= MIN_VALUE_ROWS).to_numpy()
        if common.mean() < 0.9:
            return None
        rates = grouped.transform("mean").to_numpy()[common]
        return float(np.mean((rates == 0) | (rates == 1)))
    return either_way_auc(values[known].to_numpy(dtype=float), y)


def _regression_score(values: pd.Series, labels: np.ndarray) -> float | None:
    """|Spearman's rho| of the feature and the label: 1 for any monotone rescaling of it."""
    known = values.notna().to_numpy()
    if known.sum() < 2 * MIN_ROWS_PER_CLASS:
        return None
    return rank_correlation(values[known].to_numpy(dtype=float), labels[known])


def single_feature_leaks(
    holdout: pd.DataFrame,
    features: Sequence[str],
    categorical: Sequence[str],
    task: str,
    threshold: float,
) -> dict[str, str]:
    """Features that alone order the holdout's labels near perfectly (a monotone copy of the
    label), with the score."""
    labels = holdout[LABEL].to_numpy(dtype=float)
    found = {}
    for name in features:
        values = holdout[name]
        if task == BINARY:
            score = _binary_score(values, labels, name in categorical)
            what = "single-valued classes" if name in categorical else "ROC AUC"
        else:
            score = _regression_score(values, labels)
            what = "|Spearman rho|"
        if score is not None and score >= threshold:
            found[name] = (
                f"alone scores {what} {score:.4f} on the holdout (>= {threshold:g}): a copy or "
                "a rescaling of the label, known only once the outcome is; force it in with "
                "training.selection.force if it is known before the outcome"
            )
    return found
