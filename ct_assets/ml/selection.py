"""Optional feature selection on the training rows: drop what cannot help, say why.

Judged on the training split only (never the holdout), so selection cannot leak the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# `training.selection` of ct.yaml: what each setting means is its field's description there.
from ct_assets.project.spec import Selection as SelectionConfig


@dataclass
class Selection:
    kept: list[str]
    dropped: dict[str, str] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)
    # Features a rule would have left out, kept because the project forces them in: the risk.
    forced: dict[str, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        rows = [
            {
                "feature": name,
                "kept": name in self.kept,
                "reason": self.dropped.get(name) or self.forced.get(name, ""),
                "importance": self.importance.get(name),
            }
            for name in [*self.kept, *self.dropped]
        ]
        return pd.DataFrame(rows)

    def guarded(self, leaks: dict[str, str], force: list[str]) -> Selection:
        """This selection with the leak guards' verdicts applied: a leaking feature is left
        out with its reason, unless forced in, when it is kept with a warning instead."""
        dropped = dict(self.dropped)
        forced = dict(self.forced)
        for name, why in leaks.items():
            if name in force:
                forced[name] = f"forced in by training.selection.force, though it {why}"
            else:
                dropped[name] = why
        for name in force:
            if name in dropped:
                why = dropped.pop(name)
                forced.setdefault(name, f"forced in by training.selection.force, though {why}")
        kept = [n for n in [*self.kept, *self.dropped] if n not in dropped]
        return Selection(kept, dropped, self.importance, forced)


def dominant_value(column: pd.Series, threshold: float) -> tuple[object, float]:
    """The value that may cover at least `threshold` of the non-null rows, and its share.

    A value held by more than half of the rows is the median, so for thresholds above one half
    a selection (O(n), no hashing of a million floats) finds the only candidate exactly.
    """
    values = column.dropna().to_numpy()
    if len(values) == 0:
        return None, 1.0
    if threshold <= 0.5 or values.dtype.kind not in "biuf":
        counts = column.value_counts(dropna=True)
        return counts.index[0], float(counts.iloc[0] / counts.sum())
    middle = np.partition(values, len(values) // 2)[len(values) // 2]
    return middle.item(), float(np.count_nonzero(values == middle) / len(values))


def select_features(
    train: pd.DataFrame,
    candidates: list[str],
    config: SelectionConfig,
    importance: dict[str, float] | None = None,
) -> Selection:
    """Which of `candidates` to train on, and the reason for each one left out."""
    if not config.enabled:
        return Selection(kept=list(candidates))
    dropped: dict[str, str] = {}
    for name in candidates:
        column = train[name]
        null_share = float(column.isna().mean())
        if null_share > config.max_null_share:
            dropped[name] = f"mostly null ({null_share:.1%} > {config.max_null_share:.1%})"
            continue
        value, top_share = dominant_value(column, config.near_constant_share)
        if top_share >= 1.0:
            dropped[name] = "constant"
        elif top_share >= config.near_constant_share:
            dropped[name] = f"near-constant ({top_share:.2%} of rows hold {value!r})"
    kept = [n for n in candidates if n not in dropped]
    scores = dict(importance or {})
    if config.top_k and scores and len(kept) > config.top_k:
        ranked = sorted(kept, key=lambda n: (-scores.get(n, 0.0), n))
        for name in ranked[config.top_k :]:
            dropped[name] = f"not in the top {config.top_k} by importance"
        kept = [n for n in kept if n in ranked[: config.top_k]]
    return Selection(kept=kept, dropped=dropped, importance=scores)
