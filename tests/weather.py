"""A seasonal weather source for calibrating drift: a few hundred observations a day.

Public daily weather drifts all the time without hurting a model: the season turns, a front
passes, a foggy morning follows a clear one. This source reproduces that at the size ct meets
it (300-600 rows a daily partition) so drift verdicts can be judged on days where nothing that
matters changed, beside the upstream changes that do matter (`reassigned`, `in_fahrenheit`,
`recoded`, `abrupt_shift`).

Each day is drawn from a station network under that day's weather regime: a temperature
anomaly, a moisture and a storminess level that each persist from one day to the next (AR(1)),
and a prevailing wind direction that wanders. On top: the yearly cycle, a diurnal cycle, fixed
station offsets, and skewed features (visibility capped at 16.1 km with fog and rain below it,
Weibull wind, zero-inflated precipitation). Everything is seeded by (seed, day): a day is the
same whichever days were drawn before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

STATIONS = tuple(f"ST{i:02d}" for i in range(12))
SECTORS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
CONDITIONS = ("clear", "cloudy", "rain", "snow", "fog")
# 10 statute miles: what airport stations report for any visibility beyond it.
VISIBILITY_CAP_KM = 16.1
LABEL = "delayed"

# The network's fixed character: some stations sit higher (colder), on a coast (windier) or in
# a valley (foggier), and some report more often than others.
_NETWORK = np.random.default_rng(2026)
STATION_SHARE = _NETWORK.dirichlet(np.full(len(STATIONS), 8.0))
STATION_COLD = _NETWORK.normal(0.0, 4.0, len(STATIONS))
STATION_WIND = _NETWORK.uniform(0.7, 1.4, len(STATIONS))
STATION_FOG = _NETWORK.normal(0.0, 0.6, len(STATIONS))
STATION_PRESSURE = _NETWORK.normal(0.0, 3.0, len(STATIONS))


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Regime:
    """One day's weather over the network, as standard scores (0 is an ordinary day)."""

    temperature: float
    moisture: float
    storm: float
    wind_from: float  # prevailing direction, radians


@dataclass(frozen=True)
class SeasonalWeather:
    start: date = date(2026, 3, 1)  # spring: the yearly cycle at its steepest
    rows_per_day: int = 600
    seed: int = 5
    # Day-to-day autocorrelation of the regimes: fronts last a few days.
    persistence: float = 0.75
    # How much of a station's weather is the network's regime (the rest is local that day).
    coherence: float = 0.4

    def regimes(self, days: int) -> list[Regime]:
        """The first `days` regimes, an AR(1) walk from the seed alone."""
        rng = np.random.default_rng(self.seed)
        keep = self.persistence
        shock = np.sqrt(1 - keep**2)
        state = rng.normal(size=3)
        wind_from = rng.uniform(0, 2 * np.pi)
        out = []
        for _ in range(days):
            out.append(Regime(*(float(v) for v in state), wind_from=wind_from))
            state = keep * state + shock * rng.normal(size=3)
            wind_from = (wind_from + rng.normal(0, 0.9)) % (2 * np.pi)
        return out

    def day(self, index: int) -> pd.DataFrame:
        """Observations of simulated day `index` (0-based), with the label."""
        regime = self.regimes(index + 1)[index]
        rng = np.random.default_rng([self.seed, index])
        n = self.rows_per_day
        when = self.start + timedelta(days=index)
        season = np.sin(2 * np.pi * (when.timetuple().tm_yday - 110) / 365.25)
        station = rng.choice(len(STATIONS), size=n, p=STATION_SHARE)
        seconds = np.sort(rng.integers(0, 86_400, size=n))
        hour = seconds / 3600
        diurnal = np.sin(2 * np.pi * (hour - 9) / 24)
        # Each station's weather today: the network's regime plus its own (fronts are patchy).
        common, local = np.sqrt(self.coherence), np.sqrt(1 - self.coherence)
        own = rng.normal(size=(3, len(STATIONS)))[:, station]
        heat = common * regime.temperature + local * own[0]
        moisture = common * regime.moisture + local * own[1]
        storm = common * regime.storm + local * own[2]

        temperature = (
            11
            + 11 * season
            + 2.5 * heat
            + STATION_COLD[station]
            + 4 * diurnal
            + rng.normal(0, 1.5, n)
        )
        humidity = np.clip(70 + 10 * moisture - 12 * diurnal + rng.normal(0, 9, n), 12, 100)
        # Dew point from temperature and relative humidity (Magnus): at most the temperature.
        gamma = np.log(humidity / 100) + 17.625 * temperature / (243.04 + temperature)
        dew_point = 243.04 * gamma / (17.625 - gamma)
        pressure = 1013 - 4 * storm + STATION_PRESSURE[station] + rng.normal(0, 2, n)
        wind = 13 * np.exp(0.3 * storm) * STATION_WIND[station] * rng.weibull(1.8, n)
        gust = wind * rng.uniform(1.2, 1.6, n) + rng.gamma(1.5, 2.0, n)
        # Wind blows mostly from the day's prevailing direction, each station deflecting it.
        deflection = rng.normal(0, 0.6, len(STATIONS))[station]
        angle = rng.vonmises(regime.wind_from, 1.0, n) + deflection
        sector = np.round(angle % (2 * np.pi) / (np.pi / 4)).astype(int) % len(SECTORS)
        clouds = rng.binomial(8, _sigmoid(0.2 + moisture + 0.3 * storm + rng.normal(0, 0.8, n)))
        wet = rng.random(n) < _sigmoid(-2.4 + 1.2 * moisture + 0.4 * storm)
        precipitation = np.where(wet, rng.gamma(0.8, 2.5, n), 0.0)
        # Visibility is at the cap unless fog or rain lowers it: moist mornings, valley stations,
        # and days when the whole region is moist (fog banks are wide, so it swings the most).
        morning = (hour > 3) & (hour < 10)
        reduced = rng.random(n) < _sigmoid(
            -2.8
            + 1.0 * moisture
            + 1.2 * regime.moisture
            + 1.4 * wet
            + 1.0 * morning
            + STATION_FOG[station]
        )
        visibility = np.where(
            reduced, np.clip(rng.lognormal(np.log(4), 0.9, n), 0.1, VISIBILITY_CAP_KM), 16.1
        )
        condition = np.select(
            [wet & (temperature < 0.5), wet, visibility < 1, clouds >= 6],
            ["snow", "rain", "fog", "cloudy"],
            "clear",
        )
        # Departures are delayed by low visibility, gusts and snow, whatever the season: the
        # relation a model learns holds while the weather itself moves.
        logit = (
            -2.2
            + 1.3 * (visibility < 3)
            + 0.05 * (gust - 30)
            + 1.2 * (condition == "snow")
            + 0.3 * precipitation
        )
        delayed = (rng.random(n) < _sigmoid(logit)).astype(int)
        midnight = pd.Timestamp(datetime.combine(when, datetime.min.time()), tz=UTC)
        times = midnight + pd.to_timedelta(seconds, unit="s")
        return pd.DataFrame(
            {
                "station": np.asarray(STATIONS)[station],
                "observed_at": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "temperature_c": np.round(temperature, 1),
                "dew_point_c": np.round(dew_point, 1),
                "humidity_pct": np.round(humidity, 1),
                "pressure_hpa": np.round(pressure, 1),
                "wind_kph": np.round(wind, 1),
                "gust_kph": np.round(gust, 1),
                "wind_from": np.asarray(SECTORS)[sector],
                "cloud_oktas": clouds,
                "precipitation_mm": np.round(precipitation, 1),
                "visibility_km": np.round(visibility, 1),
                "condition": condition,
                LABEL: delayed,
            }
        )

    def day_name(self, index: int, suffix: str = "csv") -> str:
        return f"weather_{(self.start + timedelta(days=index)).isoformat()}.{suffix}"


# -- the changes that matter, each as an upstream would ship it ---------------------------------


def reassigned(frame: pd.DataFrame, column: str, source: str) -> pd.DataFrame:
    """`column` filled with `source`'s values: an export that maps one field onto another."""
    out = frame.copy()
    out[column] = out[source]
    return out


def in_fahrenheit(frame: pd.DataFrame, column: str = "temperature_c") -> pd.DataFrame:
    """A unit change upstream: the same field now in °F under its old name."""
    out = frame.copy()
    out[column] = (out[column] * 9 / 5 + 32).round(1)
    return out


def recoded(frame: pd.DataFrame, column: str, mapping: dict[str, str]) -> pd.DataFrame:
    """Category values renamed or swapped upstream (`mapping`: old value to new)."""
    out = frame.copy()
    out[column] = out[column].map(lambda v: mapping.get(v, v))
    return out


def abrupt_shift(frame: pd.DataFrame) -> pd.DataFrame:
    """Most features move at once: the feed switched to another network in another climate
    (hotter, drier, calmer, clearer), as after a merge of two sources."""
    out = frame.copy()
    out["temperature_c"] = (out["temperature_c"] + 12).round(1)
    out["dew_point_c"] = (out["dew_point_c"] - 6).round(1)
    out["humidity_pct"] = (out["humidity_pct"] * 0.55).round(1)
    out["pressure_hpa"] = (out["pressure_hpa"] + 12).round(1)
    out["wind_kph"] = (out["wind_kph"] * 0.4).round(1)
    out["gust_kph"] = (out["gust_kph"] * 0.4).round(1)
    out["wind_from"] = "S"
    out["cloud_oktas"] = (out["cloud_oktas"] // 3).astype(int)
    out["precipitation_mm"] = 0.0
    out["visibility_km"] = VISIBILITY_CAP_KM
    out["condition"] = np.where(out["cloud_oktas"] >= 6, "cloudy", "clear")
    return out


# The project a user would declare for this feed (see examples/ for the format).
PROJECT: dict[str, Any] = {
    "name": "weather",
    "task": {"type": "binary", "positive": 1, "metric": "roc_auc"},
    "dataset": {
        "roles": {"label": LABEL, "event_time": "observed_at"},
        "columns": {
            "station": {"type": "category", "categories": list(STATIONS), "unseen": "unknown"},
            "observed_at": {"type": "datetime"},
            "temperature_c": {"type": "float", "checks": {"ge": -90, "le": 200}},
            "dew_point_c": {"type": "float", "checks": {"ge": -120, "le": 200}},
            "humidity_pct": {"type": "float", "checks": {"ge": 0, "le": 100}},
            "pressure_hpa": {"type": "float", "checks": {"ge": 0}},
            "wind_kph": {"type": "float", "checks": {"ge": 0}},
            "gust_kph": {"type": "float", "checks": {"ge": 0}},
            "wind_from": {"type": "category", "categories": list(SECTORS), "unseen": "unknown"},
            "cloud_oktas": {"type": "int", "checks": {"ge": 0, "le": 8}},
            "precipitation_mm": {"type": "float", "checks": {"ge": 0}},
            "visibility_km": {"type": "float", "checks": {"ge": 0}},
            "condition": {"type": "category", "categories": list(CONDITIONS), "unseen": "unknown"},
            LABEL: {"type": "int", "checks": {"isin": [0, 1]}},
        },
    },
    "features": {
        "columns": [
            "station",
            "temperature_c",
            "dew_point_c",
            "humidity_pct",
            "pressure_hpa",
            "wind_kph",
            "gust_kph",
            "wind_from",
            "cloud_oktas",
            "precipitation_mm",
            "visibility_km",
            "condition",
        ],
        "transforms": [
            {"name": "hour", "op": "hour", "column": "observed_at"},
            {"name": "day_of_week", "op": "day_of_week", "column": "observed_at"},
        ],
    },
    "partitions": {"granularity": "daily", "start": "2026-03-01"},
    "training": {"window": 7},
}
