"""A whole project declaration guessed from a sample of the data, with the reason for every guess.

Pure logic: a frame in (text cells as read from CSV or JSON Lines, or typed Parquet columns), a
plain `ct.yaml` mapping out. Nothing here knows a dataset's column names: roles come from name
hints (label, *_id, *_at) and from what the values show (repeats, uniqueness, epoch ranges).
Where a guess cannot be made safely, `CannotInfer` says which flag decides it.

One module per step, in the order `project.infer_project` takes them: `words` (what names hint),
`profile` (what each column's values show), `roles` (label, event time, entity, event id),
`declare` (each column's declaration, the task), `features` (features, transforms, windows,
slices), `leaks` (features that give the label away), `sections` (the rest of ct.yaml) and
`notes` (what to review). `base` holds the inputs, the result and the errors they share.
"""

from ct_assets.project.infer.base import (
    MAX_CATEGORIES,
    AmbiguousDates,
    CannotInfer,
    Inference,
    InitOptions,
    Sample,
)
from ct_assets.project.infer.profile import shown_value
from ct_assets.project.infer.project import infer_project
from ct_assets.project.infer.words import project_name

__all__ = [
    "MAX_CATEGORIES",
    "AmbiguousDates",
    "CannotInfer",
    "Inference",
    "InitOptions",
    "Sample",
    "infer_project",
    "project_name",
    "shown_value",
]
