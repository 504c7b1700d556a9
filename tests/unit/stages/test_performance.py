"""Unit tests of ct_assets/stages/performance.py, the live performance stage: reading a registered
version's training-label figures.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

from ct_assets.ml.tags import Provenance
from ct_assets.stages.performance import _figure


def test_a_tag_is_read_as_a_number_and_a_missing_or_unreadable_one_is_nan() -> None:
    tags = {"ct.train_label_mean": "0.25", "ct.train_label_std": "not a number"}
    trained = Provenance.of(tags)
    assert _figure(trained.train_label_mean) == 0.25
    assert math.isnan(_figure(trained.train_label_std))
    assert math.isnan(_figure(Provenance.of({}).train_label_mean))
