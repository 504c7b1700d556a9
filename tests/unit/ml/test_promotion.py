"""Unit tests of ct_assets/ml/promotion.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from ct_assets.ml.contracts import Evaluation, Gain, Incomparable, Scored, ServingCheck
from ct_assets.ml.gates import INFRASTRUCTURE, MARGIN, GateSettings
from ct_assets.ml.infra import InfraResult
from ct_assets.ml.promotion import RegistryState, decide_promotion
from ct_assets.project.spec import Threshold

POLICY = GateSettings(metric="roc_auc", margin=Threshold(value=0.01))


def scored(version: str, auc: float, lower: float | None = None) -> Scored:
    gain = (
        None if lower is None else Gain(gain=lower + 0.02, lower=lower, upper=0.2, resamples=1000)
    )
    return Scored(version=version, family="lightgbm", metrics={"roc_auc": auc}, gain=gain)


def evaluation(
    candidates: list[Scored],
    champion: Scored | None = None,
    serving: ServingCheck | None = None,
    incomparable: Incomparable | None = None,
) -> Evaluation:
    return Evaluation(
        task="binary",
        metric="roc_auc",
        feature_set_id="fs-1",
        holdout_rows=500,
        candidates=candidates,
        champion=champion,
        serving=serving,
        champion_incomparable=incomparable,
    )


class Probe:
    """A serving check that records what it was asked to load."""

    def __init__(self, passed: bool = True) -> None:
        self.asked: list[str] = []
        self.passed = passed

    def __call__(self, version: str) -> InfraResult:
        self.asked.append(version)
        return InfraResult(self.passed, f"v{version} served" if self.passed else "too slow", {})


def test_a_first_model_is_promoted_after_the_infrastructure_gate_runs_on_it() -> None:
    probe = Probe()
    decision = decide_promotion(
        evaluation([scored("1", 0.7), scored("2", 0.8)]),
        RegistryState("2026-01-01", None),
        POLICY,
        probe,
        lambda: None,
    )
    assert decision.promote and decision.candidate is not None
    assert decision.candidate.version == "2" and probe.asked == ["2"]


def test_the_evaluation_s_own_serving_figures_are_used_for_the_same_version() -> None:
    probe = Probe()
    served = ServingCheck(version="2", passed=False, reason="did not load", figures={})
    decision = decide_promotion(
        evaluation([scored("2", 0.8)], serving=served),
        RegistryState("2026-01-01", None),
        POLICY,
        probe,
        lambda: None,
    )
    assert not decision.promote and probe.asked == []
    infra = decision.gate(INFRASTRUCTURE)
    assert infra is not None and infra.ran and infra.reason == "did not load"


def test_a_refused_margin_never_boots_a_serving_process() -> None:
    probe = Probe()
    decision = decide_promotion(
        evaluation([scored("5", 0.71, lower=-0.01)], champion=scored("2", 0.70)),
        RegistryState("2026-01-02", "2"),
        POLICY,
        probe,
        lambda: "2",
    )
    assert not decision.promote and probe.asked == []
    assert decision.reason.startswith("margin gate:")
    infra = decision.gate(INFRASTRUCTURE)
    assert infra is not None and not infra.ran


def test_a_champion_moved_since_the_evaluation_holds_the_decision() -> None:
    probe = Probe()
    decision = decide_promotion(
        evaluation([scored("5", 0.9, lower=0.1)], champion=scored("2", 0.7)),
        RegistryState("2026-01-02", "3"),
        POLICY,
        probe,
        lambda: "3",
    )
    assert not decision.promote and probe.asked == []
    assert decision.reason == "champion moved from v2 to v3 during evaluation"


def test_a_champion_moved_during_the_serving_check_holds_the_decision() -> None:
    decision = decide_promotion(
        evaluation([scored("5", 0.9, lower=0.1)], champion=scored("2", 0.7)),
        RegistryState("2026-01-02", "2"),
        POLICY,
        Probe(),
        lambda: "4",  # a rollback by hand while the fresh process loaded the model
    )
    assert not decision.promote
    assert decision.reason == "champion moved from v2 to v4 during infrastructure validation"


def test_a_retrain_of_an_older_day_is_recorded_not_promoted() -> None:
    decision = decide_promotion(
        evaluation([scored("5", 0.9, lower=0.1)], champion=scored("2", 0.7)),
        RegistryState("2026-01-02", "2", ("2026-01-03",)),
        POLICY,
        Probe(),
        lambda: "2",
    )
    assert not decision.promote and "older than the decision already taken" in decision.reason
    # The gates themselves passed: the refusal is the guard's, and says so.
    margin = decision.gate(MARGIN)
    assert margin is not None and margin.passed


def test_an_incomparable_champion_leaves_the_floor_to_decide() -> None:
    incomparable = Incomparable(version="2", reason="v2 was trained on feature set fs-0")
    decision = decide_promotion(
        evaluation([scored("5", 0.65)], incomparable=incomparable),
        RegistryState("2026-01-02", "2"),
        POLICY,
        Probe(),
        lambda: "2",
    )
    assert decision.promote
    margin = decision.gate(MARGIN)
    assert margin is not None and "judged on the floor alone" in margin.reason


def test_a_candidate_promoted_for_its_partition_before_is_not_promoted_again() -> None:
    """The same candidate handed back for the same partition after the champion moved on (a
    rollback away from it): its promotion was decided once, and no repeat undoes the move."""
    probe = Probe()
    decision = decide_promotion(
        evaluation([scored("3", 0.9, 0.05)], scored("2", 0.7)),
        RegistryState("2026-01-02", "2", promoted_before=("3",)),
        POLICY,
        probe,
        lambda: "2",
    )
    assert not decision.promote and probe.asked == []
    assert (
        decision.reason == "v3 was already promoted for 2026-01-02: a decision moves the alias once"
    )
