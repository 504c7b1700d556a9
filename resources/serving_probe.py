"""Serving processes for the infrastructure gate, booted when a run that evaluates starts."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from ct_assets.io.serving_probe import ServingProbe
from resources.mlflow_registry import MlflowRegistry


class ServingProbes(dg.ConfigurableResource):
    """Hands out a fresh serving process that has booted but loaded no model.

    A fresh process spends most of its time booting (importing MLflow, ~14 s on two cores). The
    run that evaluates boots one as it starts, while it validates and trains; by the time the
    best candidate is known the process is ready to load it. Used once, then another is booted.
    """

    mlflow: MlflowRegistry
    _booted: ServingProbe | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._booted = ServingProbe(self.mlflow.tracking_uri)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._booted is not None:
            self._booted.close()

    def fresh(self) -> ServingProbe:
        probe, self._booted = self._booted, None
        return probe if probe is not None else ServingProbe(self.mlflow.tracking_uri)
