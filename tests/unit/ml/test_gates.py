"""Unit tests of ct_assets/ml/gates/.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from typing import Any

import pytest

from ct_assets.ml.contracts import Gain, Scored
from ct_assets.ml.gates import (
    FLOOR,
    INFRASTRUCTURE,
    MARGIN,
    SLICES,
    Bound,
    GateResult,
    GateSettings,
    decide,
    parse_bounds,
    verdict,
)
from ct_assets.ml.vocabulary import METRICS
from ct_assets.project.spec import Threshold

POLICY = GateSettings(
    metric="roc_auc",
    floors=(Bound("roc_auc", ">=", 0.6),),
    margin=Threshold(value=0.01),
    slice_tolerance=Threshold(value=0.05),
)


# Regression: RMSE ranks (lower is better); margin and tolerance relative to the champion.
RMSE_POLICY = GateSettings(
    metric="rmse",
    floors=(Bound("r2", ">=", 0.0),),
    margin=Threshold(value=0.01, relative=True),
    slice_tolerance=Threshold(value=0.1, relative=True),
)


def m(
    version: str,
    auc: float,
    gain: tuple[float, float] | None = None,
    slices: dict[str, float | None] | None = None,
    **metrics: float,
) -> Scored:
    return Scored(
        version=version,
        family="lightgbm",
        metrics={"roc_auc": auc, "brier": 0.2, **metrics},
        slices=[
            {"column": "channel", "value": k, "rows": 200, "roc_auc": v}
            for k, v in (slices or {}).items()
        ],
        gain=None
        if gain is None
        else Gain(gain=sum(gain) / 2, lower=gain[0], upper=gain[1], resamples=1000),
    )


def r(
    version: str,
    rmse: float,
    gain: tuple[float, float] | None = None,
    slices: dict[str, float | None] | None = None,
) -> Scored:
    return Scored(
        version=version,
        family="lightgbm",
        metrics={"rmse": rmse, "mae": rmse * 0.8, "r2": 0.5},
        slices=[
            {"column": "weather", "value": k, "rows": 200, "rmse": v}
            for k, v in (slices or {}).items()
        ],
        gain=None
        if gain is None
        else Gain(gain=sum(gain) / 2, lower=gain[0], upper=gain[1], resamples=1000),
    )


def gates_of(
    candidates: list[Scored], champion: Scored | None, policy: GateSettings = POLICY
) -> dict[str, GateResult]:
    _, results = decide(candidates, champion, policy)
    return {g.gate: g for g in results}


def test_first_model_is_judged_on_the_floor_alone() -> None:
    best, results = decide([m("1", 0.7), m("2", 0.65)], None, POLICY)
    assert best is not None and best.version == "1"
    assert all(g.passed for g in results)
    refused = gates_of([m("1", 0.55)], None)
    assert not refused[FLOOR].passed and "breaks roc_auc >= 0.6" in refused[FLOOR].reason
    assert refused[FLOOR].figures["roc_auc"] == 0.55


def test_every_floor_is_applied_and_named() -> None:
    policy = GateSettings(floors=parse_bounds("roc_auc>=0.6, brier<=0.15", METRICS))
    _, results = decide([m("1", 0.8)], None, policy)
    floor = results[0]
    assert not floor.passed and "brier 0.2000 breaks brier <= 0.15" in floor.reason


@pytest.mark.parametrize(
    ("text", "error"),
    [("roc_auc>0.6", "not a bound"), ("accuracy>=0.9", "unknown metric 'accuracy'")],
)
def test_bounds_that_cannot_be_read_are_refused_by_name(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_bounds(text, METRICS)


@pytest.mark.parametrize(
    ("candidate", "champion", "passed"),
    [(0.80, 0.75, True), (0.755, 0.75, False), (0.76, 0.75, True), (0.70, 0.75, False)],
)
def test_margin_without_an_interval_is_the_plain_gain(
    candidate: float, champion: float, passed: bool
) -> None:
    assert gates_of([m("5", candidate)], m("2", champion))[MARGIN].passed is passed


def test_the_floor_applies_even_when_the_champion_is_worse() -> None:
    results = gates_of([m("5", 0.58)], m("2", 0.40))
    assert not results[FLOOR].passed and results[MARGIN].passed


def test_the_champion_cannot_be_its_own_challenger() -> None:
    assert not gates_of([m("2", 0.9)], m("2", 0.9))[MARGIN].passed


def test_a_gain_inside_the_noise_is_refused_and_a_clear_one_promoted() -> None:
    champion = m("2", 0.70)
    lucky = gates_of([m("5", 0.72, gain=(-0.01, 0.05))], champion)[MARGIN]
    assert not lucky.passed
    assert "[-0.0100, +0.0500]: lower bound < margin 0.0100" in lucky.reason
    assert "higher is better" in lucky.reason
    assert lucky.figures["gain_ci_lower"] == -0.01
    clear = gates_of([m("6", 0.80, gain=(0.06, 0.14))], champion)[MARGIN]
    assert clear.passed and "lower bound >= margin" in clear.reason


def test_a_slice_that_regresses_beyond_the_tolerance_refuses_the_candidate() -> None:
    champion = m("2", 0.70, slices={"web": 0.75, "app": 0.70, "store": None})
    regressing = m("5", 0.80, gain=(0.05, 0.15), slices={"web": 0.85, "app": 0.62, "store": 0.9})
    slices = gates_of([regressing], champion)[SLICES]
    assert not slices.passed
    assert "channel=app 0.7000 -> 0.6200 (worse)" in slices.reason
    assert "higher is better" in slices.reason
    assert slices.figures["worst_slice"] == "channel=app"
    assert slices.figures["worst_worsening"] == pytest.approx(0.08)
    # The store slice is too small in the champion to compare: only two slices are.
    assert slices.figures["slices_compared"] == 2
    within = m("6", 0.80, gain=(0.05, 0.15), slices={"web": 0.85, "app": 0.67})
    assert gates_of([within], champion)[SLICES].passed


def test_a_slice_that_improved_is_reported_as_better_not_as_a_regression() -> None:
    champion = m("2", 0.70, slices={"web": 0.75, "app": 0.60})
    better = m("5", 0.80, gain=(0.05, 0.15), slices={"web": 0.80, "app": 0.7227})
    slices = gates_of([better], champion)[SLICES]
    assert slices.passed
    # Every slice improved: the least favourable one still reads as an improvement.
    assert "least favourable channel=web 0.7500 -> 0.8000 (better)" in slices.reason
    assert slices.figures["worst_worsening"] == pytest.approx(-0.05)


def test_all_evaluation_gates_record_figures_even_after_one_refused() -> None:
    results = gates_of([m("5", 0.55, gain=(-0.2, -0.1))], m("2", 0.70))
    assert [g.gate for g in results.values()] == [FLOOR, MARGIN, SLICES]
    assert all(g.ran for g in results.values())
    assert not results[FLOOR].passed and not results[MARGIN].passed
    assert results[MARGIN].figures["gain_ci_upper"] == -0.1


def test_the_best_regression_candidate_is_the_lowest_rmse() -> None:
    best, _ = decide([r("4", 3.2), r("5", 2.9), r("6", 3.5)], None, RMSE_POLICY)
    assert best is not None and best.version == "5"


@pytest.mark.parametrize(
    ("candidate", "passed"),
    # Champion RMSE 3.0: the margin is 1% of it, 0.03; a lower RMSE is an improvement.
    [(2.90, True), (2.97, True), (2.98, False), (3.10, False)],
)
def test_the_rmse_margin_is_relative_and_points_down(candidate: float, passed: bool) -> None:
    gate = gates_of([r("5", candidate)], r("2", 3.0), RMSE_POLICY)[MARGIN]
    assert gate.passed is passed, gate.reason
    assert "lower is better" in gate.reason and "1% of the champion's" in gate.reason
    assert gate.figures["improvement"] == pytest.approx(3.0 - candidate)


def test_an_rmse_interval_must_clear_the_margin() -> None:
    lucky = gates_of([r("5", 2.9, gain=(-0.02, 0.2))], r("2", 3.0), RMSE_POLICY)[MARGIN]
    assert not lucky.passed and "lower bound < margin 0.0300" in lucky.reason
    clear = gates_of([r("5", 2.5, gain=(0.3, 0.7))], r("2", 3.0), RMSE_POLICY)[MARGIN]
    assert clear.passed


def test_an_rmse_slice_that_got_worse_refuses_and_one_that_improved_does_not() -> None:
    champion = r("2", 3.0, slices={"snow": 4.0, "clear": 2.0})
    worse = r("5", 2.5, gain=(0.3, 0.7), slices={"snow": 4.5, "clear": 1.5})
    gate = gates_of([worse], champion, RMSE_POLICY)[SLICES]
    # snow got worse by 0.5 RMSE, over 10% of the champion's 4.0; clear improved.
    assert not gate.passed
    assert "weather=snow 4.0000 -> 4.5000 (worse)" in gate.reason
    assert "lower is better" in gate.reason and "clear" not in gate.reason.split(":")[-1]
    fine = r("6", 2.5, gain=(0.3, 0.7), slices={"snow": 3.0, "clear": 1.9})
    ok = gates_of([fine], champion, RMSE_POLICY)[SLICES]
    assert ok.passed and "(better)" in ok.reason


def verdict_of(results: dict[str, Any]) -> Any:
    best = m("5", 0.8)
    gates = [GateResult(g, p, f"{g} says {p}") for g, p in results.items()]
    return verdict(best, m("2", 0.7), gates)


def test_promotion_needs_every_gate_and_names_the_first_refusal() -> None:
    passed = verdict_of({FLOOR: True, MARGIN: True, SLICES: True, INFRASTRUCTURE: True})
    assert passed.promote and "infrastructure: infrastructure says True" in passed.reason
    refused = verdict_of({FLOOR: True, MARGIN: False, SLICES: False, INFRASTRUCTURE: False})
    assert not refused.promote and refused.reason == "margin gate: margin says False"
    assert not verdict(None, None, []).promote


def test_every_gate_module_registers_the_gate_it_is_named_after() -> None:
    import pkgutil
    from pathlib import Path

    from ct_assets.ml import gates

    package = Path(gates.__file__).parent
    modules = {m.name for m in pkgutil.iter_modules([str(package)])} - {"base"}
    assert set(gates.names()) == modules
    assert gates.names() == (FLOOR, MARGIN, SLICES, INFRASTRUCTURE)
    for name in modules:
        assert type(gates.get(name)).__module__ == f"ct_assets.ml.gates.{name}"


def test_a_gate_added_to_the_registry_is_judged_checked_and_can_refuse() -> None:
    from ct_assets.ml import gates
    from ct_assets.project.load import load_project
    from ct_assets.project.spec import ProjectSpec
    from ct_assets.stages.production import gate_descriptions
    from tests.conftest import EXAMPLES

    class Calibrated(gates.Gate):
        """A gate as a contributor adds one: a class in its own module, registered."""

        name = "calibrated"
        rank = 35

        def describe(self, spec: ProjectSpec) -> str:
            return "calibration error at most 0.05"

        def judge(self, best: Scored, champion: Scored | None, policy: GateSettings) -> GateResult:
            error = best.value("calibration_error")
            return GateResult(self.name, error <= 0.05, f"calibration error {error:.3f}", {})

    gates.register(Calibrated())
    try:
        best = m("2", 0.8, calibration_error=0.2)
        chosen, results = decide([best], None, POLICY)
        assert [r.gate for r in results] == [FLOOR, MARGIN, SLICES, "calibrated"]
        decision = verdict(chosen, None, results)
        assert not decision.promote
        assert decision.reason == "calibrated gate: calibration error 0.200"
        spec = load_project(EXAMPLES / "shop").spec
        assert gate_descriptions(spec)["calibrated"] == "calibration error at most 0.05"
    finally:
        gates.unregister("calibrated")
    assert "calibrated" not in gates.names()
