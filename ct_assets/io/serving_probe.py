"""The serving probe: a fresh Python process that loads a candidate through mlflow.pyfunc as
serving would, predicts a sample and prints its figures (`model_probe.py`); `ml/infra.py`
judges them against the budgets."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from ct_assets.ml.infra import InfraBudget, InfraResult, judge


class ServingProbe:
    """A serving process booted now, given its model later, judged last.

    The new Python process loads the model through mlflow.pyfunc. Most of its time is booting
    (importing MLflow: ~14 s on two cores), which needs no model, so it can boot while the
    caller trains and scores. Each probe loads one model.
    """

    def __init__(self, tracking_uri: str) -> None:
        self.model_uri = ""
        self._tmp = tempfile.TemporaryDirectory()
        self._loaded_at = 0.0
        # A serving process runs one thread: an OpenMP team per one-row call would measure
        # contention with the rest of the machine, not the model (see PERF_NOTES).
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        # Output goes to files, not pipes: nobody reads it until `result`, and a full pipe would
        # stall the process mid-measurement and show as latency of the model.
        self._out = Path(self._tmp.name) / "stdout"
        self._err = Path(self._tmp.name) / "stderr"
        with self._out.open("w") as out, self._err.open("w") as err:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ct_assets.io.model_probe", tracking_uri],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                text=True,
                env=env,
            )

    def __enter__(self) -> ServingProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._process.poll() is None:  # never asked for a result, or the caller failed
            self._process.kill()
            self._process.communicate()
        self._tmp.cleanup()

    def load(self, model_uri: str, sample: pd.DataFrame) -> None:
        """The model to load and the rows to predict; the figures come from `result`."""
        assert not self.model_uri, f"this probe already loads {self.model_uri}"
        self.model_uri = model_uri
        sample_path = Path(self._tmp.name) / "sample.parquet"
        sample.to_parquet(sample_path, index=False)
        self._loaded_at = time.monotonic()
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(f"{model_uri}\n{sample_path}\n")
            self._process.stdin.flush()  # communicate() closes it
        except BrokenPipeError:  # it died booting: `result` reports why
            pass

    def result(self, budget: InfraBudget) -> InfraResult:
        """The figures against `budget`; the timeout counts from `load`."""
        assert self.model_uri, "load() names the model before its result is asked for"
        waited = time.monotonic() - self._loaded_at
        try:
            self._process.communicate(timeout=max(0.0, budget.timeout_seconds - waited))
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            return InfraResult(
                False,
                f"{self.model_uri} did not load and predict within {budget.timeout_seconds}s",
                {},
            )
        return judge(self.model_uri, self._out.read_text(), self._err.read_text(), budget)


def validate_serving(
    tracking_uri: str, model_uri: str, sample: pd.DataFrame, budget: InfraBudget
) -> InfraResult:
    """Load `model_uri` through mlflow.pyfunc in a new Python process and judge the figures."""
    with ServingProbe(tracking_uri) as probe:
        probe.load(model_uri, sample)
        return probe.result(budget)
