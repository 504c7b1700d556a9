"""Assembling a rolling training window and cutting its time-based holdout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ct_assets.ml.frames import (
    BATCH,
    FEATURE_SET,
    HOLDOUT,
    LABEL,
    PARTITION,
    SPLIT,
    TIME,
    TRAIN,
    at_most,
)
from ct_assets.ml.split_strategies import holdout_mask, leakage_warnings


@dataclass(frozen=True)
class WindowSummary:
    partitions: list[str]
    missing: list[str]
    batch_ids: list[str]
    cutoff: str
    train_rows: int
    holdout_rows: int
    label_mean: float


def expected_partitions(all_keys: Sequence[str], last: str, size: int) -> list[str]:
    """The `size` partition keys ending at `last`, in order (fewer near the first partition)."""
    end = all_keys.index(last) + 1
    return list(all_keys[max(0, end - size) : end])


def assemble_window(
    parts: Mapping[str, pd.DataFrame],
    holdout_fraction: float,
    strategy: str = "time",
    seed: int = 0,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Concatenate partitions in delivery order and mark the holdout rows; above `max_rows`,
    a uniform draw of that many (seeded, delivery order kept).

    By default (`time`) the cut is a point in time, never a random draw: every holdout row
    happened at or after every training row, which is how the model will meet data in
    production. Other strategies: see `split_strategies`.
    """
    frames = [parts[k].assign(**{PARTITION: k}) for k in sorted(parts) if not parts[k].empty]
    if not frames:
        raise ValueError("training window is empty: no partition in it holds any rows")
    window = pd.concat(frames, ignore_index=True)
    if FEATURE_SET in window.columns and window[FEATURE_SET].nunique() > 1:
        sets = window.groupby(FEATURE_SET)[PARTITION].unique()
        detail = "; ".join(f"{s}: {', '.join(sorted(p))}" for s, p in sets.items())
        raise ValueError(
            f"training window mixes feature sets ({detail}): re-materialize the features of "
            "the older partitions with the current definitions"
        )
    window = at_most(window, max_rows, seed)
    is_holdout = holdout_mask(window, strategy, holdout_fraction, seed)
    window[SPLIT] = np.where(is_holdout, HOLDOUT, TRAIN)
    return window.sort_values(TIME, kind="stable").reset_index(drop=True)


def split_warnings(window: pd.DataFrame, strategy: str) -> list[str]:
    return leakage_warnings(window, (window[SPLIT] == HOLDOUT).to_numpy(), strategy)


def summarize_window(window: pd.DataFrame, expected: list[str]) -> WindowSummary:
    present = sorted(window[PARTITION].unique().tolist())
    holdout = window[window[SPLIT] == HOLDOUT]
    return WindowSummary(
        partitions=present,
        missing=[k for k in expected if k not in present],
        batch_ids=sorted(window[BATCH].unique().tolist()),
        cutoff=holdout[TIME].min().isoformat(),
        train_rows=len(window) - len(holdout),
        holdout_rows=len(holdout),
        label_mean=round(float(window[LABEL].mean()), 4),
    )


# A candidate window with fewer training rows than this (or, for a binary label, fewer rows of
# either class) is not trained: a model of a few dozen rows only adds noise to the competition.
MIN_SUBSET_ROWS = 200
MIN_SUBSET_CLASS_ROWS = 20


@dataclass(frozen=True)
class Subset:
    """The training rows of one candidate window: the newest partitions of the training rows."""

    name: str
    partitions: tuple[str, ...]
    rows: np.ndarray  # a mask over the training rows

    @property
    def size(self) -> int:
        return int(self.rows.sum())


def subset_name(choice: int | str, change: str | None) -> str:
    if isinstance(choice, int):
        return f"last {choice}"
    return f"since {change}"


def training_subsets(
    train: pd.DataFrame,
    choices: Sequence[int | str],
    change: str | None,
    binary: bool,
) -> tuple[list[Subset], dict[str, str]]:
    """The candidate windows over the training rows, each once, and why any other was not
    trained.

    `choices` are partition counts, ending at the newest partition holding training rows, and
    `since_change`: the partitions from `change` (where the champion's live performance broke)
    on. Two choices holding the same partitions are one window, named by the first.
    """
    held = sorted(train[PARTITION].unique())
    partitions = train[PARTITION].to_numpy()
    subsets: list[Subset] = []
    skipped: dict[str, str] = {}
    for choice in choices:
        name = subset_name(choice, change)
        if isinstance(choice, int):
            chosen = tuple(held[-choice:])
        elif change is None or change <= held[0]:
            skipped[str(choice)] = (
                "no break in live performance within the window"
                if change is None
                else f"the break ({change}) is at or before the window's first partition"
            )
            continue
        else:
            chosen = tuple(p for p in held if p >= change)
        same = next((s for s in subsets if s.partitions == chosen), None)
        if same is not None:
            skipped[name] = f"the same partitions as {same.name}"
            continue
        rows = np.isin(partitions, chosen)
        why = too_small(train.loc[rows, LABEL], binary)
        if why:
            skipped[name] = why
            continue
        subsets.append(Subset(name, chosen, rows))
    return subsets, skipped


def too_small(labels: pd.Series, binary: bool) -> str | None:
    """Why a window's labels are too few to train on, if they are."""
    if len(labels) < MIN_SUBSET_ROWS:
        return f"{len(labels)} training rows (fewer than {MIN_SUBSET_ROWS})"
    if binary:
        positives = int(labels.sum())
        fewest = min(positives, len(labels) - positives)
        if fewest < MIN_SUBSET_CLASS_ROWS:
            return f"{fewest} rows of one class (fewer than {MIN_SUBSET_CLASS_ROWS})"
    return None
