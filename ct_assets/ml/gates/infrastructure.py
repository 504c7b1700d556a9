"""Infrastructure: the registered model loads in a fresh process and predicts within the
declared latency and size (`gates.serving`). Measured by its probe (`io/serving_probe.py`) and
judged (`ml/infra.py`) by the promotion decision, for a candidate every evaluation gate passed."""

from __future__ import annotations

from ct_assets.ml.gates import register
from ct_assets.ml.gates.base import Gate
from ct_assets.project.spec import ProjectSpec

NAME = "infrastructure"


class Infrastructure(Gate):
    name = NAME
    rank = 40
    on_evaluation = False
    compares = False

    def describe(self, spec: ProjectSpec) -> str:
        serving = spec.gates.serving
        return (
            "The registered model loads in a fresh process through mlflow.pyfunc and predicts "
            f"one row within {serving.latency_ms_p95} ms (p95), at most {serving.size_mb} MB."
        )


register(Infrastructure())
