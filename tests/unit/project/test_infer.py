"""Unit tests of ct_assets/project/infer.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pandas as pd

from ct_assets.project.infer import InitOptions, Sample, infer_project
from ct_assets.project.spec import ProjectSpec


def test_inference_is_pure_and_needs_no_file() -> None:
    frame = pd.DataFrame(
        {
            "ts": ["1767225600", "1767312000", "1767398400", "1767484800"],
            "churn": ["no", "yes", "no", "no"],
            "plan": ["a", "b", "a", "b"],
        }
    )
    inference = infer_project(Sample(frame, "memory"), InitOptions(name="x"))
    assert inference.spec["task"] == {"type": "binary", "positive": True, "metric": "roc_auc"}
    assert inference.roles["event_time"].column == "ts"
    assert inference.spec["dataset"]["columns"]["ts"] == {"type": "datetime", "format": "epoch_s"}
    assert ProjectSpec.model_validate(inference.spec).positive == "true"
