"""The drift methods registry: the spec's choices, the noise floors and Evidently's stattests
all come from one record per method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from ct_assets.ml import drift_methods
from ct_assets.ml.drift_methods import CATEGORICAL, NUMERIC
from ct_assets.project.spec import CategoricalDrift, Drift, NumericDrift


def test_the_spec_offers_each_kind_the_methods_registered_for_it() -> None:
    assert drift_methods.for_kind(NUMERIC) == NumericDrift.METHODS
    assert drift_methods.for_kind(CATEGORICAL) == CategoricalDrift.METHODS
    assert NumericDrift().method == "ks" and CategoricalDrift().method == "tvd"
    for name in drift_methods.names():
        method = drift_methods.get(name)
        assert method.kinds and method.kinds <= {NUMERIC, CATEGORICAL}, name


def test_a_method_of_the_wrong_kind_is_refused_with_the_ones_that_fit() -> None:
    with pytest.raises(ValidationError, match="categorical features are judged by one of tvd"):
        Drift.model_validate({"categorical": {"method": "ks"}})


@pytest.mark.parametrize("name", [n for n in drift_methods.names() if drift_methods.get(n).bounded])
def test_a_bounded_method_refuses_a_threshold_it_can_never_reach(name: str) -> None:
    kind = "numeric" if NUMERIC in drift_methods.get(name).kinds else "categorical"
    with pytest.raises(ValidationError, match="would never flag"):
        Drift.model_validate({kind: {"method": name, "threshold": 1.5}})


def test_an_unbounded_method_takes_a_threshold_above_one() -> None:
    assert (
        Drift.model_validate({"numeric": {"method": "psi", "threshold": 2}}).numeric.threshold == 2
    )


def test_ct_s_own_effects_are_bounded_statistics_with_a_noise_floor() -> None:
    rng = np.random.default_rng(0)
    same, moved = rng.normal(size=2000), rng.normal(loc=1.0, size=2000)
    for name in drift_methods.names():
        method = drift_methods.get(name)
        if method.effect is None:
            assert method.noise_floor(100, 100) == 0.0
            continue
        sample = same if NUMERIC in method.kinds else (same > 0).astype(int)
        shifted = moved if NUMERIC in method.kinds else (moved > 0).astype(int)
        assert method.effect(sample, sample) == 0.0
        assert 0.2 < method.effect(sample, shifted) <= 1.0
        assert method.noise_floor(25, 175) > method.noise_floor(2500, 17500) > 0
        assert method.noise_floor(100, 0) == 1.0
        assert math.isnan(method.effect([], sample))


def test_a_name_taken_by_another_method_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        drift_methods.register(drift_methods.DriftMethod("ks", "other", frozenset({NUMERIC}), "x"))
