"""Scoring rows with a registered model: the one function batch scoring and `ct predict` share.

Also what `ct predict` needs to turn a user's file into features exactly as the pipeline does:
parsed as ingest parses, validated against the declared schema (the label may be absent), with
window features computed from the file's own history.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ingest.parsing import parse_spec_bytes
from ct_assets.ml.features import build_features, with_row_ids
from ct_assets.ml.frames import ENTITY, FEATURE_SET, LABEL, ROW_ID, TIME
from ct_assets.ml.schema import validate_batch
from ct_assets.ml.training import predict
from ct_assets.project.load import Locate
from ct_assets.project.spec import ProjectSpec

MODEL_VERSION = "model_version"
PREDICTION = "prediction"


class BadInput(ValueError):
    """A file to score that does not match the declared dataset; the message names where."""


def score_frame(family: str, model: Any, features: pd.DataFrame, version: str) -> pd.DataFrame:
    """One row per feature row: its ids, time, the version that scored it, the prediction."""
    keys = [c for c in (ROW_ID, ENTITY, TIME) if c in features.columns]
    out = features[keys].reset_index(drop=True).copy()
    out[MODEL_VERSION] = version
    out[FEATURE_SET] = features[FEATURE_SET].to_numpy() if FEATURE_SET in features else ""
    out[PREDICTION] = np.asarray(predict(family, model, features), dtype=float)
    return out


def unscored(features: pd.DataFrame) -> pd.DataFrame:
    """The shape of `score_frame`'s output with no rows: nothing could score them."""
    keys = [c for c in (ROW_ID, ENTITY, TIME) if c in features.columns]
    out = features[keys].head(0).copy()
    out[MODEL_VERSION] = pd.Series(dtype=str)
    out[FEATURE_SET] = pd.Series(dtype=str)
    out[PREDICTION] = pd.Series(dtype=float)
    return out


def _without_label(spec: ProjectSpec) -> ProjectSpec:
    """The same declaration with the label column not required: a file to score has none."""
    columns = {k: v for k, v in spec.dataset.columns.items() if k != spec.dataset.label}
    return spec.model_copy(update={"dataset": spec.dataset.model_copy(update={"columns": columns})})


def input_features(
    data: bytes, name: str, spec: ProjectSpec, locate: Locate | None = None
) -> pd.DataFrame:
    """Features of every row of a CSV or Parquet file, as the pipeline computes them.

    Raises BadInput naming the file, the column, the first rows that fail by the lines a reader
    finds them on, and (with `locate`) the line of ct.yaml declaring each rule broken.
    """
    parsed = parse_spec_bytes(data, name, spec)
    if parsed.frame is None:
        raise BadInput(f"{name}: " + "; ".join(f.describe() for f in parsed.failures))
    frame = parsed.frame
    label = spec.dataset.label
    has_label = label in frame.columns
    checked = spec if has_label else _without_label(spec)
    outcome = validate_batch(frame, name, checked, lines=parsed.lines)
    if outcome.frame is None:
        raise BadInput((outcome if locate is None else outcome.located(locate)).reason())
    events = outcome.frame
    if not has_label:
        # A placeholder the feature code reads and scoring never uses (dropped below).
        events = events.assign(**{label: np.nan})
    batch_id = f"predict-{hashlib.sha256(data).hexdigest()[:16]}"
    # Window features: each row's entity history is the file's rows before it in time.
    features = build_features(with_row_ids(events, batch_id, spec), spec)
    return features if has_label else features.drop(columns=[LABEL])
