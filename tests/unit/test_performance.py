"""Unit tests of ct_assets/performance.py, the live performance stage: reading a registered
version's numeric tags.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import math

from ct_assets.performance import _tag_number


def test_a_tag_is_read_as_a_number_and_a_missing_or_unreadable_one_is_nan() -> None:
    tags = {"ct.train_label_mean": "0.25", "ct.note": "not a number"}
    assert _tag_number(tags, "ct.train_label_mean") == 0.25
    assert math.isnan(_tag_number(tags, "ct.note"))
    assert math.isnan(_tag_number(tags, "ct.train_label_std"))
