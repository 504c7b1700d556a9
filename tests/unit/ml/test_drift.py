"""Unit tests of ct_assets/ml/drift.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ct_assets.ml import drift_methods
from ct_assets.ml.drift import (
    FeatureDrift,
    _drifted,
    choose_reference,
    correlation_shift,
    drift_share,
    monitored,
    noise_floor,
)
from ct_assets.ml.drift_methods import NOISE_ALPHA, ks_statistic, total_variation
from ct_assets.project.spec import CategoricalDrift, Drift, NumericDrift
from ct_assets.stages.drift import correlation_metadata
from tests.helpers.correlation_drift import COLUMNS, frame
from tests.helpers.features import ENERGY, SHOP, declared


def test_the_same_relation_on_new_rows_is_no_shift() -> None:
    shift = correlation_shift(frame(1, 1.0), frame(3, 1.0), COLUMNS, threshold=0.3)
    assert shift.shifted_features == [] and shift.max_shift < 0.1
    assert correlation_metadata(shift)["correlation_shifted_features"] == "none"


@pytest.mark.parametrize("columns", [[], ["x"]])
def test_fewer_than_two_columns_have_no_correlation_to_shift(columns: list[str]) -> None:
    shift = correlation_shift(frame(1, 1.0), frame(2, -1.0), columns, threshold=0.3)
    assert shift.columns == [] and shift.max_shift == 0.0


def test_a_constant_column_is_left_out_not_counted_as_a_shift() -> None:
    reference, current = frame(1, 1.0), frame(2, 1.0)
    reference["c"], current["c"] = 1.0, 1.0
    shift = correlation_shift(reference, current, [*COLUMNS, "c"], threshold=0.3)
    assert "c" not in {c.feature for c in shift.columns}
    assert "c" not in {c.partner for c in shift.columns}


def test_reference_is_the_champion_window_when_present() -> None:
    frames = {k: pd.DataFrame({"x": [1]}) for k in ("d1", "d2", "d3", "d4")}
    assert choose_reference(frames, "d4", ["d1", "d2"])[0] == ["d1", "d2"]
    assert choose_reference(frames, "d4", None)[0] == ["d1", "d2", "d3"]
    # The current partition is never its own reference, even if the champion saw it.
    assert choose_reference(frames, "d2", ["d1", "d2"])[0] == ["d1"]
    assert choose_reference(frames, "d1", None)[0] == []


def test_monitored_features_are_the_rows_own_less_what_is_constant_within_a_partition() -> None:
    numeric, categorical = monitored(SHOP)
    assert categorical == ["channel", "country"]
    assert numeric == ["n_items", "log_amount", "amount_per_item", "log_account_age", "hour"]
    assert "day_of_week" in SHOP.drift_excluded
    # Window features depend on how much history precedes a partition: never monitored.
    assert not set(numeric) & {f"{c}_{a}_{w}" for c, a, w in SHOP.window_features}
    energy_numeric, energy_categorical = monitored(ENERGY)
    assert energy_categorical == ["weather"]
    assert "is_holiday" in energy_numeric and "day_of_week" not in energy_numeric
    assert set(energy_numeric) == set(ENERGY.row_features) - {"weather", "day_of_week"}
    # In hourly partitions the hour is constant too; in weekly ones nothing is.
    hourly = declared("energy", {"partitions": {"granularity": "hourly"}})
    assert {"hour", "day_of_week"} <= set(hourly.drift_excluded)
    assert "hour" not in monitored(hourly)[0]
    weekly = declared("energy", {"partitions": {"granularity": "weekly"}})
    assert {"hour", "day_of_week"} <= set(monitored(weekly)[0])
    chosen = declared("energy", {"drift": {"exclude": ["wind_kph"]}})
    assert chosen.drift_excluded["wind_kph"] == "declared in drift.exclude"
    assert "wind_kph" not in monitored(chosen)[0]


def test_the_ks_statistic_is_the_largest_gap_between_the_two_cdfs() -> None:
    assert ks_statistic([1, 2, 3, 4], [1, 2, 3, 4]) == 0.0
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == 0.5
    assert ks_statistic([1, 2], [10, 20, 30]) == 1.0
    rng = np.random.default_rng(0)
    a, b = rng.lognormal(0, 1, 500), rng.lognormal(0.3, 1, 300)
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic)
    # Ranks only: the same data in other units (or a log scale) is the same D.
    assert ks_statistic(np.log(a), np.log(b)) == pytest.approx(ks_statistic(a, b))
    assert ks_statistic(a * 9 / 5 + 32, b * 9 / 5 + 32) == pytest.approx(ks_statistic(a, b))
    # An outlier moves D by at most one row's share.
    assert abs(ks_statistic([*a, 1e9], b) - ks_statistic(a, b)) <= 1 / 500
    assert math.isnan(ks_statistic([], [1.0]))


def test_the_total_variation_is_the_share_of_rows_that_changed_category() -> None:
    assert total_variation(["a", "b"], ["b", "a"]) == 0.0
    assert total_variation(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == 0.25
    assert total_variation(["a"] * 3, ["c"] * 5) == 1.0
    # For a 0/1 feature it is D.
    flags, other = [0, 0, 0, 1], [0, 1, 1, 1, 1]
    assert total_variation(flags, other) == pytest.approx(ks_statistic(flags, other))
    assert math.isnan(total_variation([], ["a"]))


def test_the_noise_floor_is_what_noise_alone_reaches_at_these_sizes() -> None:
    # D's floor is the asymptotic Kolmogorov critical value at NOISE_ALPHA.
    c_alpha = math.sqrt(math.log(2 / NOISE_ALPHA) / 2)
    assert noise_floor("ks", 4200, 600) == pytest.approx(c_alpha * math.sqrt(4800 / 4200 / 600))
    # Two categories are one comparison, as for D; more are more sets that could differ.
    assert noise_floor("tvd", 4200, 600, 2) == pytest.approx(noise_floor("ks", 4200, 600))
    assert noise_floor("tvd", 4200, 600, 12) > noise_floor("tvd", 4200, 600, 3)
    # Smaller partitions are noisier; nothing on one side leaves nothing to judge.
    assert noise_floor("ks", 210, 30) > 0.3 > noise_floor("ks", 2100, 300)
    assert noise_floor("ks", 100, 0) == 1.0
    # Evidently's binned methods have no floor ct knows of.
    assert noise_floor("psi", 10, 10) == noise_floor("wasserstein", 10, 10) == 0.0


@pytest.mark.parametrize(("current", "kind"), [(30, "ks"), (300, "ks"), (30, "tvd"), (300, "tvd")])
def test_noise_alone_rarely_reaches_the_floor(current: int, kind: str) -> None:
    rng = np.random.default_rng(current)
    reference, draws = 7 * current, 400
    reached = 0
    for _ in range(draws):
        if kind == "ks":
            a, b = rng.gamma(1.5, 2.0, reference), rng.gamma(1.5, 2.0, current)
            effect, floor = ks_statistic(a, b), noise_floor("ks", reference, current)
        else:
            shares = [0.4, 0.3, 0.15, 0.1, 0.05]
            a, b = rng.choice(5, reference, p=shares), rng.choice(5, current, p=shares)
            effect = total_variation(a, b)
            floor = noise_floor("tvd", reference, current, len(set(a) | set(b)))
        reached += effect >= floor
    assert reached / draws <= 2 * NOISE_ALPHA


@pytest.mark.parametrize(
    ("effect", "threshold", "floor", "drifted"),
    [
        (0.31, 0.3, 0.07, True),
        (0.3, 0.3, 0.07, True),  # at the threshold is drift
        (0.29, 0.3, 0.07, False),
        (0.35, 0.3, 0.4, False),  # large, but no larger than noise at this size
        (0.45, 0.3, 0.4, True),
        (math.nan, 0.3, 0.07, False),
    ],
)
def test_a_feature_drifts_when_its_effect_reaches_the_threshold_and_the_noise(
    effect: float, threshold: float, floor: float, drifted: bool
) -> None:
    assert _drifted(effect, threshold, floor) is drifted


def test_the_share_counts_drifted_features() -> None:
    def feature(drifted: bool) -> FeatureDrift:
        return FeatureDrift("f", "numeric", "ks", 0.5, 0.3, 0.1, drifted)

    assert drift_share([]) == 0.0
    assert drift_share([feature(True), feature(False), feature(False), feature(True)]) == 0.5


def test_defaults_are_the_ks_statistic_and_the_total_variation_at_0_3() -> None:
    rules = Drift()
    assert (rules.numeric.method, rules.numeric.threshold) == ("ks", 0.3)
    assert (rules.categorical.method, rules.categorical.threshold) == ("tvd", 0.3)
    assert rules.threshold == 0.5
    # Every method a project may declare is one ct knows how to run.
    assert set(NumericDrift.METHODS) | set(CategoricalDrift.METHODS) == set(drift_methods.names())
