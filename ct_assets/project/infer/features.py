"""Features: which declared columns a model learns from (and why each other one is
left out), the event time's transforms, per-entity window aggregates, and the slices gates judge.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ct_assets.project.infer.base import MAX_CATEGORIES, MAX_SLICE_VALUES, MIN_ROWS_PER_CATEGORY
from ct_assets.project.infer.declare import Declared
from ct_assets.project.infer.profile import Profile, examples_of
from ct_assets.project.infer.roles import id_like
from ct_assets.project.spec import Training

# At most this many slice gates, and numeric features aggregated over windows.
MAX_SLICES = 2
MAX_WINDOW_COLUMNS = 2
# Partitions a project's model learns from: ct's own default.
TRAINING_WINDOW = Training().window
WINDOW_AGGREGATIONS = ["count", "mean"]
WINDOWS = ["1d", "7d"]


def _free(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`... when a column already has that name."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def choose_features(
    profiles: dict[str, Profile], declared: dict[str, Declared], roles: set[str]
) -> tuple[list[str], dict[str, str]]:
    features: list[str] = []
    left_out: dict[str, str] = {}
    for name, p in profiles.items():
        if name in roles:
            continue
        kind = declared[name].value["type"]
        if p.kind == "empty":
            left_out[name] = "empty in every row of the sample"
        elif id_like(p):
            left_out[name] = (
                "an identifier: its values name rows or subjects, they do not carry over"
            )
        elif kind == "string":
            left_out[name] = (
                f"too many distinct values ({p.distinct:,}) for a category (at most "
                f"{MAX_CATEGORIES}, each in {MIN_ROWS_PER_CATEGORY}+ rows on average); declare it "
                "a category with its categories if it has few values"
            )
        elif kind == "datetime":
            left_out[name] = (
                "a time other than the event time: a model reads times through transforms "
                "(hour, day_of_week); add them if it matters"
            )
        elif p.distinct < 2:
            left_out[name] = (
                f"one value ({examples_of(p, 1)}) in every row of the sample: nothing to learn; "
                "add it to features.columns if it varies later"
            )
        else:
            features.append(name)
    return features, left_out


def time_transforms(time: Profile, taken: set[str]) -> tuple[list[dict[str, Any]], str]:
    """The hour of the event time, where the sample's times have one.

    No day of week: ct writes daily partitions and a training window of `TRAINING_WINDOW`, in
    which a day of week is constant within each partition and each value is seen once, so it
    names the day a row is from rather than a weekly pattern; ct's leak guard would leave it out
    of training anyway (it needs three weeks of partitions in the window to be learnt).
    """
    times = pd.DatetimeIndex(time.counts.index)
    transforms: list[dict[str, Any]] = []
    midnight = bool(((times.hour == 0) & (times.minute == 0) & (times.second == 0)).all())
    if not midnight:
        name = _free(f"{time.name}_hour", taken)
        transforms.append({"name": name, "op": "hour", "column": time.name})
        reason = f"hour of the event time {time.name}"
    else:
        reason = f"none: every event time in {time.name} is at midnight (a date alone)"
    return transforms, reason + f"; {NO_DAY_OF_WEEK}"


# Why ct init never proposes a day of week (the review says it too).
NO_DAY_OF_WEEK = (
    "no day of week: with daily partitions it is constant within a partition and each value is "
    f"seen once in a {TRAINING_WINDOW}-partition window, so it would name the day a row is "
    "from, not a weekly pattern (a model learns 'this weekday follows these rules', the "
    "holdout agrees, tomorrow does not); add one only with a training.window of 21 or more"
)


def window_groups(
    entity: str | None,
    features: list[str],
    declared: dict[str, Declared],
    profiles: dict[str, Profile],
    taken: set[str],
) -> tuple[list[dict[str, Any]], str]:
    if entity is None:
        return [], "no entity column: per-entity window features are off"
    numeric = [f for f in features if declared[f].value["type"] in ("int", "float")]
    # Amounts (floats with many values) say more about a history than small counts do.
    numeric.sort(key=lambda f: (declared[f].value["type"] != "float", -profiles[f].distinct))
    chosen: list[str] = []
    for column in numeric:
        names = {f"{column}_{a}_{w}" for a in WINDOW_AGGREGATIONS for w in WINDOWS}
        if names & taken or len(chosen) == MAX_WINDOW_COLUMNS:
            continue
        taken |= names
        chosen.append(column)
    if not chosen:
        return [], f"entity {entity}, but no numeric feature to aggregate: no window features"
    groups = [
        {"column": c, "aggregations": list(WINDOW_AGGREGATIONS), "windows": list(WINDOWS)}
        for c in chosen
    ]
    reason = (
        f"per {entity}: {' and '.join(WINDOW_AGGREGATIONS)} of {', '.join(chosen)} over its "
        f"earlier events in the last {' and '.join(WINDOWS)} (numeric features with the most "
        "values, floats first)"
    )
    return groups, reason


def choose_slices(
    features: list[str], declared: dict[str, Declared], profiles: dict[str, Profile]
) -> tuple[list[str], str]:
    fit = [
        f
        for f in features
        if declared[f].value["type"] in ("category", "bool")
        and 2 <= profiles[f].distinct <= MAX_SLICE_VALUES
    ]
    fit.sort(key=lambda f: (declared[f].value["type"] != "category", profiles[f].distinct))
    chosen = fit[:MAX_SLICES]
    if not chosen:
        return (
            [],
            f"no category or bool feature with 2 to {MAX_SLICE_VALUES} values: no slice gates",
        )
    shown = ", ".join(f"{f} ({profiles[f].distinct} values)" for f in chosen)
    return chosen, (
        f"category or bool features with few values, categories first: {shown}; a candidate "
        "that loses too much on one group is not promoted"
    )
