"""Unit tests of ct_assets/ml/contracts.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ct_assets.ml.contracts import Evaluation, Scored


def test_the_contract_refuses_a_record_that_does_not_fit() -> None:
    with pytest.raises(ValidationError, match="holdout_rows"):
        Evaluation.model_validate(
            {"task": "binary", "metric": "roc_auc", "feature_set_id": "x", "candidates": []}
        )
    with pytest.raises(ValidationError, match="extra"):
        Scored.model_validate({"version": "1", "family": "lightgbm", "metrics": {}, "roc_auc": 0.7})
