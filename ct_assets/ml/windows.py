"""Assembling a rolling training window and cutting its time-based holdout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ct_assets.ml.features import FEATURE_SET
from ct_assets.ml.schema import EVENT_TIME

SPLIT = "split"
PARTITION = "partition"
TRAIN, HOLDOUT = "train", "holdout"


@dataclass(frozen=True)
class WindowSummary:
    partitions: list[str]
    missing: list[str]
    batch_ids: list[str]
    cutoff: str
    train_rows: int
    holdout_rows: int
    label_rate: float


def expected_partitions(all_keys: Sequence[str], last: str, size: int) -> list[str]:
    """The `size` partition keys ending at `last`, in order (fewer near the first partition)."""
    end = all_keys.index(last) + 1
    return list(all_keys[max(0, end - size) : end])


def assemble_window(parts: Mapping[str, pd.DataFrame], holdout_fraction: float) -> pd.DataFrame:
    """Concatenate partitions in time order and mark the most recent slice as the holdout.

    The cut is a point in time, never a random draw: every holdout row happened at or after every
    training row, which is how the model will meet data in production.
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
    window = window.sort_values(EVENT_TIME, kind="stable").reset_index(drop=True)
    cutoff = window[EVENT_TIME].quantile(1.0 - holdout_fraction, interpolation="higher")
    is_holdout = window[EVENT_TIME] >= cutoff
    if is_holdout.all():
        raise ValueError(f"training window has no rows before the holdout cutoff {cutoff}")
    window[SPLIT] = is_holdout.map({True: HOLDOUT, False: TRAIN})
    return window


def summarize_window(window: pd.DataFrame, expected: list[str]) -> WindowSummary:
    present = sorted(window[PARTITION].unique().tolist())
    holdout = window[window[SPLIT] == HOLDOUT]
    return WindowSummary(
        partitions=present,
        missing=[k for k in expected if k not in present],
        batch_ids=sorted(window["batch_id"].unique().tolist()),
        cutoff=holdout[EVENT_TIME].min().isoformat(),
        train_rows=len(window) - len(holdout),
        holdout_rows=len(holdout),
        label_rate=round(float(window["label"].mean()), 4),
    )
