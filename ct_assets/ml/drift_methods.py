"""The effect sizes drift can be judged on, a registry: `drift.numeric.method` and
`drift.categorical.method` name one, the spec validates against it, the drift asset asks it
for Evidently's stattest, the noise floor and the title its table shows.

A method is one `DriftMethod` record: registered here for ct's own and Evidently's built-in
effect sizes, or by another package through the `ct.drift_methods` entry point (an object or a
callable returning one). Light: the spec imports this module at load, numpy and pandas only
when an effect is computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ct_assets.ml.registry import Registry

__all__ = ["DriftMethod", "for_kind", "get", "names", "register"]

NUMERIC, CATEGORICAL = "numeric", "categorical"
ENTRY_POINT_GROUP = "ct.drift_methods"
# How often sampling noise alone may reach the noise floor, per feature and partition.
NOISE_ALPHA = 0.01


@dataclass(frozen=True)
class DriftMethod:
    """One effect size: what ct.yaml calls it, which kinds of feature it judges, and how."""

    name: str
    title: str  # as the drift table and the report's column show it
    kinds: frozenset[str]  # numeric, categorical or both
    stattest: str  # Evidently's registered name (ct registers its own `effect` under it)
    # At most 1: a threshold above it would never flag, so the spec refuses one.
    bounded: bool = False
    # ct's own computation of the effect, made an Evidently stattest; None: Evidently's.
    effect: Callable[[Any, Any], float] | None = None
    # The effect sampling noise alone exceeds with probability NOISE_ALPHA at these row
    # counts (reference, current, categories); None: no known floor (0).
    noise: Callable[[int, int, int], float] | None = None

    def noise_floor(self, reference_rows: int, current_rows: int, categories: int = 2) -> float:
        if self.noise is None:
            return 0.0
        if min(reference_rows, current_rows) < 1:
            return 1.0  # nothing to compare on one side: no effect counts
        return self.noise(reference_rows, current_rows, categories)


# In registration order: ct's own first (the spec offers them first, as the defaults).
_REGISTRY: Registry[DriftMethod] = Registry(
    "drift method", lambda m: m.name, in_registration_order=True
)
register = _REGISTRY.register
names = _REGISTRY.names
get = _REGISTRY.get


def for_kind(kind: str) -> tuple[str, ...]:
    """The methods that judge this kind of feature, ct's own first."""
    return tuple(m.name for m in _REGISTRY.items() if kind in m.kinds)


# -- ct's own effect sizes: statistics, not p-values ---------------------------------------------


def ks_statistic(reference: Any, current: Any) -> float:
    """The Kolmogorov-Smirnov statistic D: the largest gap between the two empirical CDFs.

    From 0 (same distribution) to 1 (no overlap): the largest difference, over all values x,
    between the shares of rows at or below x. Ranks alone decide it: the same data in other
    units or on a log scale has the same D, a skewed tail weighs no more than the bulk, and one
    outlier moves it by one row's share at most.
    """
    import numpy as np

    a = np.sort(np.asarray(reference, dtype=float))
    b = np.sort(np.asarray(current, dtype=float))
    if not len(a) or not len(b):
        return math.nan
    pooled = np.concatenate([a, b])
    gap = np.searchsorted(a, pooled, side="right") / len(a)
    gap -= np.searchsorted(b, pooled, side="right") / len(b)
    return float(np.abs(gap).max())


def total_variation(reference: Any, current: Any) -> float:
    """Total variation distance: half the summed differences of the category shares.

    From 0 to 1: the share of rows that would have to change category for the two to match,
    which is what D is for numbers (for a 0/1 feature the two are equal).
    """
    import pandas as pd

    before = pd.Series(reference).value_counts(normalize=True)
    after = pd.Series(current).value_counts(normalize=True)
    if before.empty or after.empty:
        return math.nan
    shares = pd.concat([before, after], axis=1).fillna(0.0)
    return float(0.5 * (shares.iloc[:, 0] - shares.iloc[:, 1]).abs().sum())


def _dkw(reference_rows: int, current_rows: int, categories: int) -> float:
    """For D, the asymptotic two-sample Kolmogorov critical value (DKW). For the total
    variation, the same bound over every set of categories (a union bound: 2^(k-1) - 1 sets
    for k categories; with two it is D's). At 600 rows against 4,200 it is 0.07 for D (0.11
    for a category of 12 values), far below the default 0.3: it matters for small partitions
    (0.35 at 25 rows against 175), where noise alone moves D past 0.3."""
    log_sets = math.log(2 ** (max(categories, 2) - 1) - 1)
    spread = 1 / reference_rows + 1 / current_rows
    return math.sqrt(spread / 2 * (math.log(2 / NOISE_ALPHA) + log_sets))


register(
    DriftMethod(
        "ks",
        "K-S statistic (D)",
        frozenset({NUMERIC}),
        "ct_ks_statistic",
        bounded=True,
        effect=ks_statistic,
        noise=lambda r, c, _k: _dkw(r, c, 2),
    )
)
register(
    DriftMethod(
        "tvd",
        "Total variation distance",
        frozenset({CATEGORICAL}),
        "ct_total_variation",
        bounded=True,
        effect=total_variation,
        noise=_dkw,
    )
)
# Evidently's own effect sizes; psi and jensenshannon bin numbers into equal-width bins over
# both samples, so one outlier can squeeze a whole shift into one bin.
register(
    DriftMethod("wasserstein", "Wasserstein distance (normed)", frozenset({NUMERIC}), "wasserstein")
)
register(DriftMethod("psi", "PSI", frozenset({NUMERIC, CATEGORICAL}), "psi"))
register(
    DriftMethod(
        "jensenshannon",
        "Jensen-Shannon distance",
        frozenset({NUMERIC, CATEGORICAL}),
        "jensenshannon",
        bounded=True,
    )
)
# A method, or a factory of one.
_REGISTRY.load_entry_points(ENTRY_POINT_GROUP, load=lambda x: x() if callable(x) else x)
