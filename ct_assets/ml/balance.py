"""How many positives a binary label may show in `n` rows at the declared rates.

`quality.min_positive_rate` and `max_positive_rate` bound the rate of the feed, not the share of
one batch: at 1.2 % positives a day of 300 rows holds none about one day in 37 ((1 - 0.012)^300),
and refusing every such day refuses valid data. A batch is judged by its count instead: it is
implausible only when a count as low as its own has a chance under `IMPLAUSIBLE` at the lowest
declared rate (as high, at the highest). Large batches are held to nearly the declared share,
small ones get the room chance gives them. single_class (one batch, at ingest) and
label_balance (one partition) judge this way, and `ct init` says what it means for a sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A count whose chance at the declared bound is below this refuses (or flags) the batch: a valid
# feed sees it about once in a thousand batches.
IMPLAUSIBLE = 0.001


def chance_at_most(k: int, n: int, rate: float) -> float:
    """P(X <= k) for X ~ Binomial(n, rate)."""
    if k >= n or rate <= 0.0:
        return 1.0
    if k < 0 or rate >= 1.0:
        return 0.0
    if k == 0:
        return (1.0 - rate) ** n  # the common case, without importing scipy (~1 s)
    from scipy.stats import binom

    return float(binom.cdf(k, n, rate))


def chance_at_least(k: int, n: int, rate: float) -> float:
    """P(X >= k) for X ~ Binomial(n, rate): the rows that are not positive, at most n - k."""
    return chance_at_most(n - k, n, 1.0 - rate)


@dataclass(frozen=True)
class Balance:
    """A count of positives in `rows`, against the declared bounds on the rate."""

    positives: int
    rows: int
    low: float  # quality.min_positive_rate
    high: float  # quality.max_positive_rate
    below: float  # the chance of this few positives or fewer at `low`
    above: float  # the chance of this many or more at `high`

    @property
    def too_few(self) -> bool:
        return self.below < IMPLAUSIBLE

    @property
    def too_many(self) -> bool:
        return self.above < IMPLAUSIBLE

    @property
    def plausible(self) -> bool:
        return not (self.too_few or self.too_many)

    @property
    def share(self) -> float:
        return self.positives / self.rows if self.rows else 0.0


def judge(positives: int, rows: int, low: float, high: float) -> Balance:
    return Balance(
        positives,
        rows,
        low,
        high,
        chance_at_most(positives, rows, low),
        chance_at_least(positives, rows, high),
    )


def rows_to_refuse_none(rate: float) -> int | None:
    """The fewest rows in which no positive at all is implausible at `rate` (None: never)."""
    if rate <= 0.0:
        return None
    if rate >= 1.0:
        return 1
    # (1 - rate)^n < IMPLAUSIBLE  <=>  n > log(IMPLAUSIBLE) / log(1 - rate)
    return math.floor(math.log(IMPLAUSIBLE) / math.log1p(-rate)) + 1


def percent(share: float) -> str:
    """A rate as people write it: 2%, 1.2%, 0.62%, 0.031%."""
    return f"{share * 100:.2g}%" if share < 0.01 else f"{share * 100:.3g}%"


def odds(chance: float) -> str:
    """A small chance in words: 'a 0.099% chance', 'under a 0.001% chance'."""
    return "under a 0.001% chance" if chance < 1e-5 else f"a {percent(chance)} chance"
