"""Per-row features derived from a validated event."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ct_assets.ml.feature_spec import default_spec, window_features
from ct_assets.ml.schema import CHANNELS, COUNTRIES, ENTITY, EVENT_TIME, LABEL

# The window features of the pipeline, declared once (see feature_spec.default_spec).
SPEC = default_spec()
# Bump when the code below changes what a feature means: it is part of the feature-set id.
CODE_VERSION = "2"
FEATURE_SET_ID = SPEC.set_id(CODE_VERSION)

# Features of the event alone.
ROW_FEATURES = (
    "log_amount",
    "amount_per_item",
    "n_items",
    "log_account_age",
    "hour",
    "day_of_week",
    "is_night",
)
NUMERIC_FEATURES = ROW_FEATURES + SPEC.names
CATEGORICAL_FEATURES = ("channel", "country")
FEATURE_COLUMNS = NUMERIC_FEATURES + CATEGORICAL_FEATURES
KEY_COLUMNS = ("event_id", ENTITY, EVENT_TIME, "batch_id")
# Every features row says which definitions computed it, so a window never mixes two sets.
FEATURE_SET = "feature_set_id"


def category_codes(values: pd.Series, categories: tuple[str, ...]) -> pd.Series:
    return pd.Series(
        pd.Categorical(values, categories=list(categories)).codes.astype("int64"),
        index=values.index,
    )


def build_features(events: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Keys, label and the model's inputs for every event of `events`.

    Window features also read `history`, the same entities' earlier events (for a daily
    partition, the partitions before it as far back as the longest window), so a 7-day window
    on day 8 sees days 1-7.
    """
    if history is not None and len(history):
        everything = pd.concat([history, events], ignore_index=True)
        windows = window_features(everything, SPEC).iloc[len(history) :]
    else:
        windows = window_features(events, SPEC)
    times = events[EVENT_TIME]
    out = pd.DataFrame({c: events[c] for c in KEY_COLUMNS})
    out["log_amount"] = np.log1p(events["amount"].astype(float))
    out["amount_per_item"] = events["amount"].astype(float) / events["n_items"].astype(float)
    out["n_items"] = events["n_items"].astype(float)
    out["log_account_age"] = np.log1p(events["account_age_days"].astype(float))
    out["hour"] = times.dt.hour.astype(float)
    out["day_of_week"] = times.dt.dayofweek.astype(float)
    out["is_night"] = (times.dt.hour < 6).astype(float)
    # Categories travel as integer codes of the schema's fixed sets (-1: missing or unknown):
    # identical across partitions, and plain numbers in a model signature, so a model loads
    # and predicts through mlflow.pyfunc exactly as it was trained (pandas categories do not).
    out["channel"] = category_codes(events["channel"], CHANNELS)
    out["country"] = category_codes(events["country"], COUNTRIES)
    for name in SPEC.names:
        out[name] = windows[name].to_numpy()
    out[LABEL] = events[LABEL].astype(int)
    out[FEATURE_SET] = FEATURE_SET_ID
    return out.reset_index(drop=True)
