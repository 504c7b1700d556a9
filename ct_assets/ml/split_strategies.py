"""How a training window is cut into train and holdout, and what each cut risks.

`time` (the default) holds out the most recent slice in time, which is how a model meets data in
production. The others are there because users ask for them; any cut that lets the holdout see
the past of the training rows, or the same entities, still runs but says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ct_assets.ml.frames import ENTITY, LABEL, TIME

CUSTOM = "custom:"  # custom:package.module:function(window, fraction, seed) -> holdout mask


def _time(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    cutoff = window[TIME].quantile(1.0 - fraction, interpolation="higher")
    return (window[TIME] >= cutoff).to_numpy()


def _sequential(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    """The last rows in delivery order (partition, batch, row), whatever their event times."""
    mask = np.zeros(len(window), dtype=bool)
    mask[len(window) - max(1, round(len(window) * fraction)) :] = True
    return mask


def _random(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(len(window)) < fraction


def _mask(size: int, held: np.ndarray) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[held] = True
    return mask


# scikit-learn (and SciPy under it) is imported by the strategies that use it, not with the code
# location: the default strategy never needs it.
def _shuffled(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    _, held = train_test_split(np.arange(len(window)), test_size=fraction, random_state=seed)
    return _mask(len(window), held)


def _stratified(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    _, held = train_test_split(
        np.arange(len(window)), test_size=fraction, random_state=seed, stratify=window[LABEL]
    )
    return _mask(len(window), held)


def _group(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    _, held = next(splitter.split(window, groups=window[ENTITY]))
    return _mask(len(window), held)


# A cut: (window, holdout fraction, seed) -> the holdout mask.
Cut = Callable[[pd.DataFrame, float, int], np.ndarray]


@dataclass(frozen=True)
class Strategy:
    """A built-in cut, and what the project must hold for it (checked when ct.yaml loads)."""

    name: str
    cut: Cut
    needs_entity: bool = False  # cuts by the entity role
    binary_only: bool = False  # keeps the label's rate in both parts
    # Over time the same customers come back, so a cut by time shares entities by nature:
    # no overlap warning for it.
    overlap_expected: bool = False


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("time", _time, overlap_expected=True),
        Strategy("sequential", _sequential),
        Strategy("random", _random),
        Strategy("shuffled", _shuffled),
        Strategy("stratified", _stratified, binary_only=True),
        Strategy("group", _group, needs_entity=True),
    )
}
BUILT_IN = tuple(STRATEGIES)


def resolve(strategy: str) -> Cut:
    """A built-in strategy's cut by name, or `custom:module:function` imported from the user's
    code."""
    if strategy in STRATEGIES:
        return STRATEGIES[strategy].cut
    if strategy.startswith(CUSTOM):
        module, _, name = strategy.removeprefix(CUSTOM).partition(":")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(f"split strategy {strategy!r}: cannot import it ({exc})") from exc
        if not callable(found):
            raise ValueError(f"split strategy {strategy!r} is not callable")
        return found  # type: ignore[no-any-return]
    raise ValueError(
        f"split strategy {strategy!r}: expected one of {', '.join(BUILT_IN)} "
        f"or {CUSTOM}module:function"
    )


def holdout_mask(window: pd.DataFrame, strategy: str, fraction: float, seed: int) -> np.ndarray:
    mask = np.asarray(resolve(strategy)(window, fraction, seed), dtype=bool)
    if mask.shape != (len(window),):
        raise ValueError(f"split strategy {strategy!r} returned {mask.shape}, not ({len(window)},)")
    if mask.all() or not mask.any():
        raise ValueError(f"split strategy {strategy!r} left train or holdout empty")
    return mask


def leakage_warnings(window: pd.DataFrame, holdout: np.ndarray, strategy: str) -> list[str]:
    """What in this cut could flatter the holdout score; empty when nothing does."""
    warnings = []
    times = window[TIME]
    first_held = times[holdout].min()
    later_train = int((times[~holdout] > first_held).sum())
    if later_train:
        warnings.append(
            f"time leakage: {later_train} training rows are later than the first holdout row "
            f"({first_held.isoformat()}); the holdout is not the future of the training data"
        )
    known = STRATEGIES.get(strategy)
    if not (known and known.overlap_expected) and ENTITY in window.columns:
        # Over time the same customers come back, so a time cut shares entities by nature.
        shared = set(window.loc[holdout, ENTITY]) & set(window.loc[~holdout, ENTITY])
        if shared:
            warnings.append(
                f"entity overlap: {len(shared)} entities appear in both train and holdout"
            )
    return warnings
