"""The columns ct adds to the frames it writes, whatever the dataset's own columns are called.

Declared columns keep their names in validated data; from the features on, the roles travel
under these names, so every later stage reads the same frame shape for any dataset. The `ct_`
prefix is reserved: a declared column may not use it (see `project.spec`).
"""

from __future__ import annotations

import pandas as pd

# Validated events: the batch each row came from, and a row id (the declared event id, or one
# derived from the batch id and the row's number in it when the dataset declares none).
BATCH = "ct_batch_id"
ROW_ID = "ct_row_id"
# Features and later: the roles, under fixed names.
TIME = "ct_time"
ENTITY = "ct_entity"
LABEL = "ct_label"
FEATURE_SET = "ct_feature_set_id"
# A slice column's values as text, for per-slice metrics (`ct_slice_<column>`).
SLICE_PREFIX = "ct_slice_"
# Training windows: the partition of each row, and train or holdout.
PARTITION = "ct_partition"
SPLIT = "ct_split"
TRAIN, HOLDOUT = "train", "holdout"


def slice_column(name: str) -> str:
    return f"{SLICE_PREFIX}{name}"


def at_most(frame: pd.DataFrame, max_rows: int | None, seed: int = 0) -> pd.DataFrame:
    """At most `max_rows` rows of `frame`: a uniform draw (seeded, order kept) when it holds
    more, the frame itself otherwise. Effect sizes and models settle long before millions."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    return frame.sample(n=max_rows, random_state=seed).sort_index(ignore_index=True)
