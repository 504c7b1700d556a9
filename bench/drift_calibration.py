"""Drift verdicts on seasonal weather at a few hundred rows a day: what the defaults rest on.

Prints figures; asserts nothing. Run: `uv run python bench/drift_calibration.py [--days 60]
[--seeds 5 6 7] [--rows 300 600]`.

Each day of `tests/weather.py`'s seasonal source (a station network in spring: the yearly
cycle, weather regimes that last a few days, skewed visibility, wind and precipitation, three
categories) is judged against the seven days before it, as ct judges a partition against a
champion trained on the last week, three ways:

- p-value: KS (numbers) and chi-square (categories) at p < 0.05, drift judged on significance;
- Evidently's defaults: its automatic choice per column (what ct ran before judging effect
  sizes: KS/chi-square p-values up to 1,000 reference rows, then Wasserstein distance normed by
  the reference's spread and Jensen-Shannon distance at 0.1);
- ct: the effect size of the declared method against its threshold and the noise floor
  (`ct_assets.ml.drift`, defaults: KS statistic and total variation distance at 0.3).

Then the upstream changes that matter (a reassigned column, a unit change, a recoded category,
an abrupt shift of most features) land on each of those days, and the same three verdicts say
whether they see them. ct's verdicts here are its pure functions; `--check` also runs
`measure_drift` (Evidently) on some days and confirms it reaches the same shares.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ct_assets.ml.drift import (
    METHODS,
    _drifted,
    choose_reference,
    floors,
    measure_drift,
    monitored,
)
from ct_assets.ml.features import row_features
from ct_assets.ml.schema import validate_batch
from ct_assets.project.spec import Drift, DriftMeasure, ProjectSpec
from tests.weather import (
    PROJECT,
    SECTORS,
    SeasonalWeather,
    abrupt_shift,
    in_fahrenheit,
    reassigned,
    recoded,
)

WEATHER = ProjectSpec.model_validate(PROJECT)
WINDOW = 7
RULES = WEATHER.drift


def _scaled(column: str, factor: float, digits: int = 1) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.assign(**{column: (f[column] * factor).round(digits)})


# What lands upstream, and the column it hits (None: most of them). "Plain" changes move a
# column far (a unit change, another quantity); "look-alike" ones swap in a column whose
# values look much like the old ones (dew point for temperature, gusts for wind), where any
# distribution-based verdict is partly blind.
PLAIN: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "temperature in °F": (in_fahrenheit, "temperature_c"),
    "humidity <- temperature": (
        lambda f: reassigned(f, "humidity_pct", "temperature_c").assign(
            humidity_pct=lambda d: d["humidity_pct"].clip(0, 100)
        ),
        "humidity_pct",
    ),
    "wind in m/s": (_scaled("wind_kph", 1 / 3.6), "wind_kph"),
    "pressure in kPa": (_scaled("pressure_hpa", 0.1, 2), "pressure_hpa"),
    "visibility in miles": (_scaled("visibility_km", 1 / 1.609), "visibility_km"),
    "condition renamed": (
        lambda f: recoded(
            f, "condition", {"clear": "CLR", "cloudy": "OVC", "rain": "RA", "snow": "SN"}
        ),
        "condition",
    ),
}
LOOK_ALIKE: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "temperature <- dew point": (
        lambda f: reassigned(f, "temperature_c", "dew_point_c"),
        "temperature_c",
    ),
    "wind <- gust": (lambda f: reassigned(f, "wind_kph", "gust_kph"), "wind_kph"),
    "wind in knots": (_scaled("wind_kph", 1 / 1.852), "wind_kph"),
    "precipitation in inches": (_scaled("precipitation_mm", 1 / 25.4, 2), "precipitation_mm"),
    "condition clear <-> cloudy": (
        lambda f: recoded(f, "condition", {"clear": "cloudy", "cloudy": "clear"}),
        "condition",
    ),
    "wind_from rotated 45°": (
        lambda f: recoded(
            f, "wind_from", dict(zip(SECTORS, SECTORS[1:] + SECTORS[:1], strict=True))
        ),
        "wind_from",
    ),
}


def features(raw: pd.DataFrame, index: int) -> pd.DataFrame | None:
    """The monitored features of a day; None when ct would refuse the batch (an hour of 25
    rows can hold a single label class)."""
    outcome = validate_batch(raw, f"day{index}.csv", WEATHER)
    return None if outcome.frame is None else pd.DataFrame(row_features(outcome.frame, WEATHER))


def accepted(raw: pd.DataFrame, index: int) -> pd.DataFrame:
    frame = features(raw, index)
    assert frame is not None, f"day {index} refused"
    return frame


def judged(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> pd.DataFrame:
    """Per feature: ct's effect, floor and verdict; the p-value verdict; Evidently's default."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    rows = []
    for columns, measure, kind in (
        (numeric, RULES.numeric, ColumnType.Numerical),
        (categorical, RULES.categorical, ColumnType.Categorical),
    ):
        noise = floors(reference, current, columns, measure)
        for column in columns:
            before, after = reference[column].dropna(), current[column].dropna()
            effect = effect_of(measure, before, after)
            default = get_stattest(before, after, kind, None)
            rows.append(
                {
                    "feature": column,
                    "effect": effect,
                    "ct": _drifted(effect, measure.threshold, noise[column]),
                    "effect_only": effect >= measure.threshold,
                    "p_value": p_value(before, after, kind == ColumnType.Numerical) < 0.05,
                    "evidently": default(before, after, kind, None).drifted,
                }
            )
    return pd.DataFrame(rows)


def effect_of(measure: DriftMeasure, before: pd.Series, after: pd.Series) -> float:
    from ct_assets.ml.drift_methods import ks_statistic, total_variation

    own = {"ks": ks_statistic, "tvd": total_variation}
    assert measure.method in own, f"the bench judges ct's own methods, not {measure.method}"
    return own[measure.method](before, after)


def p_value(before: pd.Series, after: pd.Series, numeric: bool) -> float:
    if numeric:
        return float(stats.ks_2samp(before, after).pvalue)
    table = pd.crosstab(
        np.r_[np.zeros(len(before)), np.ones(len(after))], np.r_[before.values, after.values]
    )
    return float(stats.chi2_contingency(table).pvalue)


VERDICTS = ("p_value", "evidently", "ct")


def ordinary_days(rows: int, seed: int, days: int) -> tuple[pd.DataFrame, dict[int, Any]]:
    """Each day against the seven before it, nothing changed: per feature and day."""
    source = SeasonalWeather(rows_per_day=rows, seed=seed)
    numeric, categorical = monitored(WEATHER)
    delivered = {i: features(source.day(i), i) for i in range(days + WINDOW)}
    frames = {i: frame for i, frame in delivered.items() if frame is not None}
    keys = {i: f"d{i:03d}" for i in frames}
    found = []
    for day in range(WINDOW, days + WINDOW):
        if day not in frames:
            continue  # refused: no partition to judge
        window = [keys[i] for i in range(day - WINDOW, day) if i in keys]
        chosen, _ = choose_reference({keys[i]: frames[i] for i in frames}, keys[day], window)
        reference = pd.concat([frames[int(k[1:])] for k in chosen], ignore_index=True)
        table = judged(reference, frames[day], numeric, categorical)
        found.append(table.assign(day=day, rows=rows, seed=seed))
    return pd.concat(found, ignore_index=True), {"source": source, "frames": frames}


def shares(table: pd.DataFrame, verdict: str) -> pd.Series:
    return table.groupby(["rows", "seed", "day"])[verdict].mean()


def describe(values: pd.Series, threshold: float) -> str:
    return (
        f"p50 {values.median():.2f}  p90 {values.quantile(0.9):.2f}  max {values.max():.2f}  "
        f"days >= {threshold:g}: {int((values >= threshold).sum())}/{len(values)}"
    )


def report_ordinary(table: pd.DataFrame) -> None:
    print(
        f"\n== ordinary days: drift share per day (flagged at >= {RULES.threshold:g}), "
        f"against the {WINDOW} days before =="
    )
    for rows, part in table.groupby("rows"):
        print(f"-- {rows} rows a day, {part.groupby(['seed', 'day']).ngroups} days")
        for verdict in VERDICTS:
            print(f"  {verdict:10s} {describe(shares(part, verdict), RULES.threshold)}")
    print("\n== ordinary days: per-feature effect size (ct's method), p50 / p90 / max ==")
    summary = table.groupby(["feature", "rows"])["effect"].quantile([0.5, 0.9, 1.0]).unstack()
    wide = summary.unstack("rows")
    for feature, values in wide.iterrows():
        cells = [
            f"{rows}: {values[(0.5, rows)]:.2f} / {values[(0.9, rows)]:.2f} / "
            f"{values[(1.0, rows)]:.2f}"
            for rows in sorted(table["rows"].unique())
        ]
        print(f"  {feature:18s} " + "   ".join(cells))
    print("  features flagged on ordinary days (per feature and day):")
    for verdict in VERDICTS:
        flags = table.groupby("rows")[verdict].mean()
        cells = ", ".join(f"{rows} rows {share:.1%}" for rows, share in flags.items())
        print(f"    {verdict:10s} {cells}")


def report_changes(ordinary: dict[tuple[int, int], dict[str, Any]], days: int) -> None:
    numeric, categorical = monitored(WEATHER)
    print("\n== an upstream change lands: share of days the changed feature is flagged ==")
    print(
        f"  {'change':28s} {'rows':>5s} "
        + " ".join(f"{v:>10s}" for v in VERDICTS)
        + "   effect min / p50"
    )
    groups = (("plain", PLAIN), ("look-alike", LOOK_ALIKE))
    for (rows, seed), context in sorted(ordinary.items()):
        if seed != min(s for _, s in ordinary):
            continue
        source, frames = context["source"], context["frames"]
        for label, changes in groups:
            for change, (apply, column) in changes.items():
                found = []
                for day in range(WINDOW, days + WINDOW):
                    reference = pd.concat(
                        [frames[i] for i in range(day - WINDOW, day)], ignore_index=True
                    )
                    current = accepted(apply(source.day(day)), day)
                    table = judged(reference, current, numeric, categorical)
                    found.append(table[table["feature"] == column])
                hits = pd.concat(found)
                rates = " ".join(f"{hits[v].mean():>10.0%}" for v in VERDICTS)
                print(
                    f"  {change:28s} {rows:>5d} {rates}   "
                    f"{hits['effect'].min():.2f} / {hits['effect'].median():.2f}  ({label})"
                )
        flagged = {v: [] for v in VERDICTS}
        for day in range(WINDOW, days + WINDOW):
            reference = pd.concat([frames[i] for i in range(day - WINDOW, day)], ignore_index=True)
            table = judged(
                reference, accepted(abrupt_shift(source.day(day)), day), numeric, categorical
            )
            for v in VERDICTS:
                flagged[v].append(table[v].mean() >= RULES.threshold)
        rates = " ".join(f"{np.mean(flagged[v]):>10.0%}" for v in VERDICTS)
        print(f"  {'abrupt shift (partition)':28s} {rows:>5d} {rates}")


def report_tiny(days: int, seed: int) -> None:
    """An hour's partition: a few dozen rows, where noise alone reaches 0.3."""
    table, _ = ordinary_days(25, seed, days)
    print("\n== 25 rows a partition (an hour): drift share per partition ==")
    for verdict in ("effect_only", "ct", "p_value"):
        print(f"  {verdict:11s} {describe(shares(table, verdict), RULES.threshold)}")
    alone, ct = table["effect_only"].mean(), table["ct"].mean()
    print(f"  features flagged: effect only {alone:.1%}, ct {ct:.1%}")


def check_against_measure_drift(context: dict[str, Any], table: pd.DataFrame, days: int) -> None:
    """ct's pure verdicts here are what measure_drift (through Evidently) decides."""
    numeric, categorical = monitored(WEATHER)
    frames = context["frames"]
    for day in range(WINDOW, WINDOW + days):
        reference = pd.concat([frames[i] for i in range(day - WINDOW, day)], ignore_index=True)
        result, _ = measure_drift(reference, frames[day], [], numeric, categorical, RULES)
        mine = table[table["day"] == day].set_index("feature")["ct"]
        assert {f.feature: f.drifted for f in result.features} == mine.to_dict(), day
    print(f"\nmeasure_drift (Evidently) agrees with the figures above on {days} days")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 6, 7])
    parser.add_argument("--rows", type=int, nargs="+", default=[300, 600])
    parser.add_argument("--check", type=int, default=5, help="days to confirm with Evidently")
    args = parser.parse_args()
    # Evidently's correlations divide by a constant column's spread: NumPy warns, harmlessly.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    assert Drift() == RULES, "the bench measures ct's defaults"
    methods = f"{METHODS[RULES.numeric.method].title} / {METHODS[RULES.categorical.method].title}"
    print(f"ct: {methods} >= {RULES.numeric.threshold:g} / {RULES.categorical.threshold:g}")
    start = time.perf_counter()
    tables, contexts = [], {}
    for rows in args.rows:
        for seed in args.seeds:
            table, context = ordinary_days(rows, seed, args.days)
            tables.append(table)
            contexts[(rows, seed)] = context
    ordinary = pd.concat(tables, ignore_index=True)
    report_ordinary(ordinary)
    report_changes(contexts, args.days)
    report_tiny(args.days, args.seeds[0])
    if args.check:
        rows, seed = args.rows[-1], args.seeds[0]
        mine = ordinary[(ordinary["rows"] == rows) & (ordinary["seed"] == seed)]
        check_against_measure_drift(contexts[(rows, seed)], mine, args.check)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
