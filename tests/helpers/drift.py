"""Helpers shared by several test files, unit and integration:
the ones tests/test_drift.py held."""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd

from ct_assets.ml.drift import (
    measure_drift,
    monitored,
)
from ct_assets.ml.features import build_features
from ct_assets.project.spec import ProjectSpec
from tests.helpers.features import validated
from tests.weather import (
    PROJECT,
    SeasonalWeather,
)

WEATHER = ProjectSpec.model_validate(PROJECT)


SOURCE = SeasonalWeather(rows_per_day=400)


WINDOW = 7  # reference: the seven partitions before, as a champion trained on the last week


@cache
def weather_features(index: int) -> pd.DataFrame:
    return weather_frame(index, SOURCE.day(index))


def weather_frame(index: int, raw: pd.DataFrame) -> pd.DataFrame:
    return build_features(validated(raw, WEATHER, f"w{index}"), WEATHER)


def weather_reference(index: int) -> pd.DataFrame:
    return pd.concat([weather_features(k) for k in range(index - WINDOW, index)], ignore_index=True)


def weather_drift(index: int, current: pd.DataFrame) -> Any:
    numeric, categorical = monitored(WEATHER)
    reference = weather_reference(index)
    return measure_drift(reference, current, [], numeric, categorical, WEATHER.drift)[0]


@cache
def ordinary_drift(index: int) -> Any:
    return weather_drift(index, weather_features(index))
