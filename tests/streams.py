"""Drifting streams of daily files, as a newcomer would feed them: a concept change (features
unchanged, the label follows a new rule from one day on) and a harmless covariate drift (the
features move, the rule holds), each with the oracle a test compares the champion to.

Our own generators with our own seeds, in the spirit of River's synthetic ones (SEA,
Hyperplane): a few numeric features, a noisy rule, no entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ct_assets.ml.evaluation import metric_value

FEATURES = ("x1", "x2", "x3", "x4")


@dataclass(frozen=True)
class Stream:
    """Daily files of `rows` rows from `start`. Until `change_day` the label is 1 when
    w·x + noise > 0 with the old weights, from it on with the new ones; `shift_from` moves every
    feature's mean by `shift` from that day on (the rule is unchanged by it)."""

    start: date
    rows: int = 1000
    seed: int = 11
    change_day: int | None = None
    shift_from: int | None = None
    shift: float = 1.0
    noise: float = 0.6

    OLD = np.array([1.5, -1.0, 0.8, 0.0])
    NEW = np.array([-1.0, 0.0, 0.8, 1.5])

    def weights(self, index: int) -> np.ndarray:
        changed = self.change_day is not None and index >= self.change_day
        return self.NEW if changed else self.OLD

    def features(self, index: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.normal(size=(self.rows, len(FEATURES)))
        if self.shift_from is not None and index >= self.shift_from:
            x += self.shift
        return x

    def day(self, index: int) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed * 1000 + index)
        x = self.features(index, rng)
        score = x @ self.weights(index) - (self.shift * 0.3 if self.shift_from else 0.0)
        label = (score + rng.normal(scale=self.noise, size=self.rows) > 0).astype(int)
        seconds = np.sort(rng.integers(0, 86_400, self.rows))
        midnight = pd.Timestamp(self.start + timedelta(days=index), tz="UTC")
        times = midnight + pd.to_timedelta(seconds, unit="s")
        frame = pd.DataFrame({"event_time": times.strftime("%Y-%m-%dT%H:%M:%SZ")})
        for i, name in enumerate(FEATURES):
            frame[name] = x[:, i].round(5)
        frame["y"] = label
        return frame

    def name(self, index: int) -> str:
        return f"events_{(self.start + timedelta(days=index)).isoformat()}.csv"

    def write(self, folder: Path, index: int) -> Path:
        """The day's file, written as a careful producer does: hidden name, then rename."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.name(index)
        hidden = folder / f".{path.name}.part"
        self.day(index).to_csv(hidden, index=False)
        hidden.rename(path)
        return path

    def partition(self, index: int) -> str:
        return (self.start + timedelta(days=index)).isoformat()

    def oracle(self, index: int, window: int) -> float:
        """ROC AUC on day `index` of a bare LightGBM trained on the days before it that follow
        the same rule (at most `window` of them), on the row features only."""
        regime = self.weights(index).tobytes()
        days = [
            d for d in range(max(0, index - window), index) if self.weights(d).tobytes() == regime
        ]
        if not days:
            return float("nan")
        train = pd.concat([self.day(d) for d in days], ignore_index=True)
        params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 13}
        booster = lgb.train(params, lgb.Dataset(train[list(FEATURES)], train["y"]), 150)
        test = self.day(index)
        value = metric_value("roc_auc", test["y"].to_numpy(), booster.predict(test[list(FEATURES)]))
        return float("nan") if value is None else value
