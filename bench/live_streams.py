"""Daily files from River's synthetic drift generators, for `bench/live_loop.py`.

A stream is one or more River generators, each a concept: day d's rows come from the generator
of d's concept (the generators are chained by hand at the change day: River's
`ConceptDriftStream` overflows `math.exp` at large positions). Every day may also have its own
"weather", a small tilt of the feature distribution, and the harmless streams add a lasting
covariate shift from the change day on. Both are made by weighted sampling of a pool of the
generator's rows on the features alone, so the rule from features to label never changes with
them: the world looks different and behaves the same.

Each day is one CSV file: `id`, `event_time` (ISO 8601 text, UTC, spread over the day), the
generator's features and the label `y` (0/1 for binary, a float for regression).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from river.datasets import synth

LABEL = "y"
TIME = "event_time"
ID = "id"
BINARY = "binary"
REGRESSION = "regression"
POOL_FACTOR = 4  # rows drawn per row kept when a day is tilted
ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class StreamOptions:
    """What the command line sets about a stream."""

    days: int = 30
    rows: int = 3000
    change_day: int = 15
    seed: int = 7
    noise: float = 0.05
    # friedman: how many days the swapped roles last before the old concept recurs.
    period: int = 7
    # agrawal: classification functions before and after the change.
    functions: tuple[int, int] = (0, 2)
    # harmless*: strength of the lasting covariate tilt (0 none); every stream: daily tilt.
    shift: float = 1.0
    weather: float = 0.15
    with_id: bool = True


Rows = Iterator[tuple[dict[Any, Any], Any]]


@dataclass
class Stream:
    """A named stream: its task, one row iterator per concept, which concept each day is in,
    and the tilt of each day's feature distribution."""

    name: str
    task: str
    description: str
    concepts: list[Rows]
    concept_of: Callable[[int], int]
    options: StreamOptions
    lasting_shift: Callable[[int], float] = field(default=lambda day: 0.0)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.options.seed)
        self._next_id = 0

    def changes(self) -> list[int]:
        """Days (1-based) whose concept differs from the day before."""
        return [
            d
            for d in range(2, self.options.days + 1)
            if self.concept_of(d) != self.concept_of(d - 1)
        ]

    def day(self, day: int, start: date) -> pd.DataFrame:
        """Day `day` (1-based; call in order) as the file a user would receive."""
        n = self.options.rows
        shift = self.lasting_shift(day)
        tilted = bool(self.options.weather) or bool(shift)
        source = self.concepts[self.concept_of(day)]
        pool = _frame(itertools.islice(source, n * POOL_FACTOR if tilted else n))
        if tilted:
            k = len(pool.columns) - 1
            tilt = self._rng.normal(0.0, self.options.weather, k) + shift
            pool = _tilted_sample(pool, tilt, n, self._rng)
        if self.task == BINARY:
            pool[LABEL] = pool[LABEL].astype(int)
        else:
            pool[LABEL] = pool[LABEL].astype(float).round(4)
        features = [c for c in pool.columns if c != LABEL]
        pool[features] = pool[features].round(4)
        moment = datetime.combine(start + timedelta(days=day - 1), datetime.min.time(), UTC)
        seconds = np.sort(self._rng.uniform(0, 86_400, n))
        times = [(moment + timedelta(seconds=float(s))).strftime(ISO) for s in seconds]
        out = pd.DataFrame({TIME: times})
        if self.options.with_id:
            out.insert(0, ID, [f"e{self._next_id + i:07d}" for i in range(n)])
            self._next_id += n
        return pd.concat([out, pool.reset_index(drop=True)], axis=1)


def _name(key: Any) -> str:
    return f"x{key}" if isinstance(key, int) else str(key)


def _frame(rows: Iterator[tuple[dict[Any, Any], Any]]) -> pd.DataFrame:
    records = [{**{_name(k): v for k, v in x.items()}, LABEL: y} for x, y in rows]
    return pd.DataFrame.from_records(records)


def _tilted_sample(
    pool: pd.DataFrame, tilt: np.ndarray, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """`n` rows of the pool drawn with weights exp(tilt . z), z each feature's rank in the pool
    scaled to [-1, 1]: a shift of the features that leaves P(label | features) as it was."""
    features = pool.drop(columns=[LABEL])
    z = (features.rank(method="first").to_numpy() - 1) / max(len(pool) - 1, 1) * 2 - 1
    logits = z @ tilt
    weights = np.exp(logits - logits.max())
    chosen = rng.choice(len(pool), size=n, replace=False, p=weights / weights.sum())
    return pool.iloc[np.sort(chosen)]


# -- the streams ----------------------------------------------------------------------------------


def _step(change_day: int) -> Callable[[int], int]:
    return lambda day: 0 if day < change_day else 1


def agrawal(o: StreamOptions) -> Stream:
    before, after = o.functions
    return Stream(
        "agrawal",
        BINARY,
        f"Agrawal function {before} -> {after} at day {o.change_day} (perturbation {o.noise}): "
        "the label follows a new rule, the features keep their distribution",
        [
            iter(synth.Agrawal(before, seed=o.seed, perturbation=o.noise)),
            iter(synth.Agrawal(after, seed=o.seed + 1, perturbation=o.noise)),
        ],
        _step(o.change_day),
        o,
    )


def sea(o: StreamOptions) -> Stream:
    return Stream(
        "sea",
        BINARY,
        f"SEA variant 0 -> 3 (threshold 8 -> 9.5) at day {o.change_day}, label noise {o.noise}",
        [
            iter(synth.SEA(0, noise=o.noise, seed=o.seed)),
            iter(synth.SEA(3, noise=o.noise, seed=o.seed + 1)),
        ],
        _step(o.change_day),
        o,
    )


def hyperplane(o: StreamOptions) -> Stream:
    return Stream(
        "hyperplane",
        BINARY,
        f"Hyperplane (10 features) with a new seed (a new plane) at day {o.change_day}, "
        f"label noise {o.noise}",
        [
            iter(synth.Hyperplane(seed=o.seed, n_features=10, noise_percentage=o.noise)),
            iter(synth.Hyperplane(seed=o.seed + 1000, n_features=10, noise_percentage=o.noise)),
        ],
        _step(o.change_day),
        o,
    )


def friedman(o: StreamOptions) -> Stream:
    """Friedman's roles of the features swapped from the change day (FriedmanDrift 'gra' past
    its first drift point), and the old concept back `period` days later."""
    last = o.change_day + o.period
    original = iter(synth.Friedman(seed=o.seed))
    # 'gra' between its two drift points is the swapped concept: from row 0, for ever.
    swapped = iter(synth.FriedmanDrift(drift_type="gra", position=(0, 10**12), seed=o.seed + 1))
    return Stream(
        "friedman",
        REGRESSION,
        f"Friedman, feature roles swapped (FriedmanDrift 'gra') from day {o.change_day}, the "
        f"old concept back at day {last}",
        [original, swapped],
        lambda day: 1 if o.change_day <= day < last else 0,
        o,
    )


def harmless(o: StreamOptions) -> Stream:
    fn = o.functions[0]
    return Stream(
        "harmless",
        BINARY,
        f"Agrawal function {fn} throughout (perturbation {o.noise}); from day {o.change_day} "
        f"every feature tilted by {o.shift}: covariate drift, the same rule",
        [iter(synth.Agrawal(fn, seed=o.seed, perturbation=o.noise))],
        lambda day: 0,
        o,
        lambda day: o.shift if day >= o.change_day else 0.0,
    )


def harmless_friedman(o: StreamOptions) -> Stream:
    return Stream(
        "harmless-friedman",
        REGRESSION,
        f"Friedman throughout; from day {o.change_day} every feature tilted by {o.shift}: "
        "covariate drift, the same rule",
        [iter(synth.Friedman(seed=o.seed))],
        lambda day: 0,
        o,
        lambda day: o.shift if day >= o.change_day else 0.0,
    )


def stable(o: StreamOptions) -> Stream:
    fn = o.functions[0]
    return Stream(
        "stable",
        BINARY,
        f"Agrawal function {fn} throughout (perturbation {o.noise}), daily weather only",
        [iter(synth.Agrawal(fn, seed=o.seed, perturbation=o.noise))],
        lambda day: 0,
        o,
    )


STREAMS: dict[str, Callable[[StreamOptions], Stream]] = {
    "agrawal": agrawal,
    "sea": sea,
    "hyperplane": hyperplane,
    "friedman": friedman,
    "harmless": harmless,
    "harmless-friedman": harmless_friedman,
    "stable": stable,
}
