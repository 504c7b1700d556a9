"""The infrastructure gate: a candidate must load in a fresh process and fit its budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class InfraBudget:
    latency_ms_p95: float = 50.0
    size_mb: float = 100.0
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class InfraResult:
    passed: bool
    reason: str
    figures: dict[str, Any]


def validate_serving(
    tracking_uri: str, model_uri: str, sample: pd.DataFrame, budget: InfraBudget
) -> InfraResult:
    """Load `model_uri` through mlflow.pyfunc in a new Python process and judge the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        sample_path = Path(tmp) / "sample.parquet"
        sample.to_parquet(sample_path, index=False)
        command = [
            sys.executable,
            "-m",
            "ct_assets.ml.infra_probe",
            tracking_uri,
            model_uri,
            str(sample_path),
        ]
        # A serving process runs one thread: an OpenMP team per one-row call would measure
        # contention with the rest of the machine, not the model (see PERF_NOTES).
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=budget.timeout_seconds, env=env
            )
        except subprocess.TimeoutExpired:
            return InfraResult(
                False, f"{model_uri} did not load and predict within {budget.timeout_seconds}s", {}
            )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
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
