"""The energy example's data: meter readings of a building's load, with a shift in how the
building uses energy.

Until `drift_day` the load follows the outdoor temperature (heating) and the occupancy; from
then on a new heat pump halves the temperature effect while occupancy matters twice as much, so
a model trained before the shift over-predicts cold days and under-predicts busy ones. Spring and
more people working there come with it, so the temperatures and the occupancy move too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ct_assets.cli.demo import DemoDay
from ct_assets.ingest.files import atomic_write

WEATHER = ("clear", "cloudy", "rain", "snow")


@dataclass(frozen=True)
class MeterSource:
    start: date
    rows_per_day: int = 3000
    drift_day: int = 3
    seed: int = 11
    # From this day on the label follows the shifted relationship while every feature keeps
    # its distribution: a concept change that only the model's live performance can reveal.
    concept_day: int | None = None

    def day(self, index: int) -> pd.DataFrame:
        """Readings of simulated day `index` (0-based)."""
        rng = np.random.default_rng(self.seed * 1_000 + index)
        n = self.rows_per_day
        midnight = datetime.combine(self.start + timedelta(days=index), datetime.min.time())
        seconds = np.sort(rng.integers(0, 86_400, size=n))
        hour = seconds / 3600
        drifted = index >= self.drift_day
        # Spring comes with the heat pump, and more people work in the building.
        mean_temperature = 10 if drifted else 4
        daily = 6 * np.sin((hour - 9) / 24 * 2 * np.pi)
        temperature = np.round(mean_temperature + daily + rng.normal(0, 3, n), 1)
        weather = rng.choice(WEATHER, size=n, p=[0.4, 0.3, 0.2, 0.1])
        humidity = np.round(np.clip(rng.normal(70, 12, n), 5, 100), 1)
        humidity[rng.random(n) < 0.03] = np.nan  # a sensor drops out now and then
        wind = np.round(rng.gamma(2.0, 6.0, n), 1)
        holiday = bool(rng.random() < 0.15)
        working = (hour > 7) & (hour < 19) & (not holiday)
        occupancy = rng.poisson(np.where(working, 160 if drifted else 120, 15))
        heating = np.clip(18 - temperature, 0, None)
        if drifted or self.concept_changed(index):
            load = 40 + 0.9 * heating + 0.5 * occupancy + 3 * (weather == "snow")
        else:
            load = 40 + 2.0 * heating + 0.2 * occupancy + 3 * (weather == "snow")
        load = np.round(np.clip(load + 0.3 * wind + rng.normal(0, 4, n), 0, None), 2)
        stamps = (pd.Timestamp(midnight, tz=UTC).timestamp() + seconds).astype("int64")
        return pd.DataFrame(
            {
                "timestamp": stamps,
                "temperature_c": temperature,
                "humidity_pct": humidity,
                "wind_kph": wind,
                "is_holiday": np.where(holiday, "true", "false"),
                "weather": weather,
                "occupancy": occupancy,
                "load_kwh": load,
            }
        )

    def concept_changed(self, index: int) -> bool:
        return self.concept_day is not None and index >= self.concept_day

    def day_name(self, index: int, suffix: str = "csv") -> str:
        return f"meters_{(self.start + timedelta(days=index)).isoformat()}.{suffix}"


def corrupt(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A malformed copy of a batch that is still a well-formed table."""
    bad = frame.copy()
    if kind == "wrong_type":
        bad["timestamp"] = bad["timestamp"].astype(str)
        bad.loc[bad.index[::25], "timestamp"] = "yesterday"
    elif kind == "missing_column":
        bad = bad.drop(columns=["weather"])
    elif kind == "out_of_range":
        bad.loc[bad.index[::30], "humidity_pct"] = 140.0
    else:
        raise ValueError(f"unknown corruption {kind!r}")
    return bad


def write_atomically(frame: pd.DataFrame, path: Path) -> Path:
    """Write a CSV drop the way a well-behaved producer does: to a hidden name, then rename."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


# What `ct demo energy` drops, day by day, and what each day should show.
SCRIPT = (
    DemoDay(0, "first readings: the first model is promoted on the floor alone"),
    DemoDay(1, "more of the same: a challenger must cut the RMSE by the margin"),
    DemoDay(
        2,
        "a meter export with text in 'timestamp' lands beside the good file: it is "
        "quarantined, the good file goes on",
        "wrong_type",
    ),
    DemoDay(3, "a new heat pump: the load no longer follows the temperature as it did"),
    DemoDay(4, "the new regime keeps arriving"),
)


def demo_source(
    first_day: date,
    rows_per_day: int | None = None,
    drift_day: int = 3,
    concept_day: int | None = None,
) -> MeterSource:
    return MeterSource(
        start=first_day,
        rows_per_day=rows_per_day or 3000,
        drift_day=drift_day,
        concept_day=concept_day,
    )
