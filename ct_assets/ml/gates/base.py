"""What every promotion gate shares: the settings it judges by, the result it records, the
decision the results add up to, and the `Gate` protocol a gate module implements.

Every comparison follows the primary metric's direction (higher ROC AUC, lower RMSE), and every
message says which way is better.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ct_assets.ml.contracts import Scored
from ct_assets.ml.vocabulary import BINARY, METRIC, METRICS, PRIMARY_METRICS, Metric
from ct_assets.project.spec import ProjectSpec, Threshold
from ct_assets.project.spec.gates import BOUND
from ct_assets.project.spec.task_defaults import TASK_DEFAULTS

_OPS = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Bound:
    """An absolute floor (or ceiling) on one holdout metric, e.g. `roc_auc >= 0.6`."""

    metric: str
    op: str
    value: float

    def holds(self, measured: float) -> bool:
        return bool(_OPS[self.op](measured, self.value))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_bounds(text: str, known: frozenset[str] | None = None) -> tuple[Bound, ...]:
    """`roc_auc>=0.6, brier<=0.2` -> bounds; an unknown metric or form is named in the error."""
    bounds = []
    for part in (p for p in text.split(",") if p.strip()):
        found = BOUND.match(part)
        if not found:
            raise ValueError(f"{part.strip()!r} is not a bound such as roc_auc>=0.6 or rmse<=3")
        metric, op, value = found.groups()
        if known is not None and metric not in known:
            raise ValueError(f"{part.strip()!r}: unknown metric {metric!r}; known: {sorted(known)}")
        bounds.append(Bound(metric, op, float(value)))
    return tuple(bounds)


def _binary(key: str) -> Any:
    return TASK_DEFAULTS[BINARY]["gates"][key]


@dataclass(frozen=True)
class GateSettings:
    """The gates' settings; without arguments, a binary project's defaults (`task_defaults`)."""

    metric: str = PRIMARY_METRICS[BINARY][0]
    floors: tuple[Bound, ...] = field(
        default_factory=lambda: parse_bounds(",".join(_binary("floors")), METRICS)
    )
    margin: Threshold = field(default_factory=lambda: Threshold.model_validate(_binary("margin")))
    # Largest loss of any judged slice against the champion on the same slice.
    slice_tolerance: Threshold = field(
        default_factory=lambda: Threshold.model_validate(_binary("slices")["tolerance"])
    )

    @property
    def direction(self) -> Metric:
        return METRIC[self.metric]

    @classmethod
    def of(cls, spec: ProjectSpec) -> GateSettings:
        return cls(
            metric=spec.metric,
            floors=parse_bounds(",".join(spec.floors), METRICS),
            margin=spec.margin,
            slice_tolerance=spec.slice_tolerance,
        )


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
    # False when an earlier gate already refused and this one was not worth running.
    ran: bool = True


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    candidate: Scored | None
    champion: Scored | None
    gates: list[GateResult]

    def gate(self, name: str) -> GateResult | None:
        return next((g for g in self.gates if g.gate == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "candidate": self.candidate.model_dump() if self.candidate else None,
            "champion": self.champion.model_dump() if self.champion else None,
            "gates": [asdict(g) for g in self.gates],
        }


def at_least(value: float, bound: float) -> bool:
    """`value >= bound`, forgiving the last bits of float error (3.0 - 2.97 < 0.03)."""
    return value >= bound - 1e-9 * max(1.0, abs(bound))


def not_run(gate: str, because: str) -> GateResult:
    return GateResult(gate, False, f"not run: {because}", {}, ran=False)


class Gate(ABC):
    """One question a candidate must pass before it is promoted, as a module registers it."""

    # The gate's name: its asset check is `<name>_gate` on production_model.
    name: ClassVar[str]
    # Order of judgement and display (lower first).
    rank: ClassVar[int] = 100
    # Judged on the evaluation's figures with the other such gates (cheap, all run); False:
    # judged afterwards by the caller, for a candidate all of those passed (the infrastructure
    # gate's fresh process).
    on_evaluation: ClassVar[bool] = True
    # It compares the candidate with the champion, so it can say nothing when the champion
    # cannot be scored on these features.
    compares: ClassVar[bool] = True

    @abstractmethod
    def describe(self, spec: ProjectSpec) -> str:
        """What the gate asks, with this project's settings (its asset check's description)."""

    def judge(self, best: Scored, champion: Scored | None, settings: GateSettings) -> GateResult:
        """The gate's verdict on the best candidate (for a gate judged on the evaluation)."""
        raise NotImplementedError(f"the {self.name} gate is judged by its caller")
