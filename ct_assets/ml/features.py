"""Per-row features derived from a validated event."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ct_assets.ml.schema import CHANNELS, COUNTRIES, ENTITY, EVENT_TIME, LABEL

NUMERIC_FEATURES = (
    "log_amount",
    "amount_per_item",
    "n_items",
    "log_account_age",
    "hour",
    "day_of_week",
    "is_night",
)
CATEGORICAL_FEATURES = ("channel", "country")
FEATURE_COLUMNS = NUMERIC_FEATURES + CATEGORICAL_FEATURES
KEY_COLUMNS = ("event_id", ENTITY, EVENT_TIME, "batch_id")


def build_features(events: pd.DataFrame) -> pd.DataFrame:
    """Keys, label and the model's inputs for every validated event."""
    times = events[EVENT_TIME]
    out = pd.DataFrame({c: events[c] for c in KEY_COLUMNS})
    out["log_amount"] = np.log1p(events["amount"].astype(float))
    out["amount_per_item"] = events["amount"].astype(float) / events["n_items"].astype(float)
    out["n_items"] = events["n_items"].astype(float)
    out["log_account_age"] = np.log1p(events["account_age_days"].astype(float))
    out["hour"] = times.dt.hour.astype(float)
    out["day_of_week"] = times.dt.dayofweek.astype(float)
    out["is_night"] = (times.dt.hour < 6).astype(float)
    # Fixed category sets keep the encoding identical across partitions and at serving time.
    out["channel"] = pd.Categorical(events["channel"], categories=list(CHANNELS))
    out["country"] = pd.Categorical(events["country"], categories=list(COUNTRIES))
    out[LABEL] = events[LABEL].astype(int)
    return out.reset_index(drop=True)
