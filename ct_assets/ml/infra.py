"""The infrastructure gate's figures and verdict: a candidate must load in a fresh process and
fit its latency and size budgets. The probe that measures them is I/O
(`ct_assets/io/serving_probe.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ct_assets.project.spec import ServingBudget

# Holdout rows the probe predicts: once all together, then one by one for the latency figure.
SERVING_SAMPLE_ROWS = 200


@dataclass(frozen=True)
class InfraBudget:
    latency_ms_p95: float = 50.0
    size_mb: float = 100.0
    timeout_seconds: float = 120.0

    @classmethod
    def of(cls, serving: ServingBudget) -> InfraBudget:
        return cls(latency_ms_p95=serving.latency_ms_p95, size_mb=serving.size_mb)


@dataclass(frozen=True)
class InfraResult:
    passed: bool
    reason: str
    figures: dict[str, Any]


def judge(model_uri: str, stdout: str, stderr: str, budget: InfraBudget) -> InfraResult:
    """The probe's printed figures against the budget."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return InfraResult(False, f"{model_uri}: the probe process failed: {tail}", {})
    figures = json.loads(lines[-1])
    if not figures.get("loaded"):
        return InfraResult(
            False, f"{model_uri} cannot be loaded in a fresh process: {figures['error']}", figures
        )
    size_mb = figures["size_bytes"] / 2**20
    if size_mb > budget.size_mb:
        return InfraResult(
            False, f"{model_uri} is {size_mb:.1f} MB, over the {budget.size_mb} MB budget", figures
        )
    if figures["latency_ms_p95"] > budget.latency_ms_p95:
        return InfraResult(
            False,
            f"{model_uri} predicts one row in {figures['latency_ms_p95']:.1f} ms (p95), over "
            f"the {budget.latency_ms_p95} ms budget",
            figures,
        )
    return InfraResult(
        True,
        f"{model_uri} loads in a fresh process in {figures['load_seconds']:.1f} s, "
        f"{size_mb:.2f} MB, one row in {figures['latency_ms_p95']:.1f} ms (p95)",
        figures,
    )
