"""Helpers shared by several test files, unit and integration:
the ones tests/test_incremental.py held."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from ct_assets.ml.families import Inputs
from ct_assets.ml.features import build_features
from ct_assets.ml.frames import BATCH, FEATURE_SET, PARTITION
from ct_assets.ml.incremental import (
    Base,
)
from ct_assets.project.spec import ProjectSpec
from examples.shop.generator import DriftingSource
from tests.helpers.features import SHOP, validated

SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=1000, drift_day=100)


INPUTS = Inputs(SHOP.task.type, SHOP.feature_names, SHOP.categorical_inputs)


def day(index: int, source: Any = SOURCE, spec: ProjectSpec = SHOP) -> pd.DataFrame:
    events = validated(source.day(index), spec, f"b{index}")
    features = build_features(events, spec)
    return features.assign(**{PARTITION: f"2026-01-0{index + 1}"})


@pytest.fixture(scope="module")
def days() -> pd.DataFrame:
    return pd.concat([day(i) for i in range(3)], ignore_index=True)


def base_of(train: pd.DataFrame, version: str = "1", family: str = "lightgbm", **tags: str) -> Base:
    return Base(
        version,
        family,
        {
            "ct.training_partitions": ",".join(sorted(train[PARTITION].unique())),
            "ct.batch_ids": ",".join(sorted(train[BATCH].unique())),
            "ct.feature_set_id": str(train[FEATURE_SET].iloc[0]),
            **tags,
        },
    )
