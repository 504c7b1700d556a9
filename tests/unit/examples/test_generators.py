"""Unit tests of examples/generators.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import START, generator


@pytest.mark.parametrize(("example", "label"), [("shop", "label"), ("energy", "load_kwh")])
def test_a_concept_day_changes_the_label_and_nothing_else(example: str, label: str) -> None:
    module = generator(example)
    before = module.demo_source(START, 500, 100).day(4)
    after = module.demo_source(START, 500, 100, concept_day=3).day(4)
    same_day = module.demo_source(START, 500, 100, concept_day=5).day(4)
    features = [c for c in before.columns if c != label]
    pd.testing.assert_frame_equal(before[features], after[features])
    assert not before[label].equals(after[label])
    pd.testing.assert_frame_equal(before, same_day)  # before its concept day: as by default
