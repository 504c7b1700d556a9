"""The whole inference, step by step: a sample in, the declaration `ct init` writes out.

Checks the header, then reads names (`words`), profiles each column (`profile`), guesses the
roles (`roles`), declares every column and the task (`declare`), chooses features (`features`),
leaves likely leaks out (`leaks`), writes the ct.yaml sections (`sections`) and the notes to
review (`notes`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ct_assets.ml.vocabulary import BINARY
from ct_assets.project.infer.base import CannotInfer, Inference, InitOptions, Sample
from ct_assets.project.infer.declare import as_id, declare_column, declare_label
from ct_assets.project.infer.features import (
    choose_features,
    choose_slices,
    time_transforms,
    window_groups,
)
from ct_assets.project.infer.leaks import copies_of, leaks_of
from ct_assets.project.infer.notes import review_notes
from ct_assets.project.infer.profile import profile
from ct_assets.project.infer.roles import (
    guess_entity,
    guess_event_id,
    guess_label,
    guess_time,
    id_like,
)
from ct_assets.project.infer.sections import (
    declaration_sections,
    default_sections,
    format_section,
    in_file_order,
    label_balance,
    quality_section,
    serving_section,
)
from ct_assets.project.infer.words import hints_time
from ct_assets.project.spec import RESERVED_PREFIX


def _checked_names(frame: pd.DataFrame) -> list[str]:
    names = [str(c) for c in frame.columns]
    if not names:
        raise CannotInfer("the sample has no columns")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CannotInfer(f"the header names {', '.join(twice)} more than once: rename them")
    if any(not n.strip() for n in names):
        place = next(i for i, n in enumerate(names) if not n.strip()) + 1
        raise CannotInfer(f"column {place} has no name in the header: name it")
    reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
    if reserved:
        raise CannotInfer(
            f"column names starting with {RESERVED_PREFIX!r} are ct's own: rename "
            f"{', '.join(reserved)} in the data"
        )
    if frame.empty:
        raise CannotInfer("the sample has no rows: ct init infers from rows")
    return names


def infer_project(sample: Sample, options: InitOptions) -> Inference:
    """The declaration `ct init` writes for this sample, with the reason for each guess."""
    frame = sample.frame.rename(columns=str)
    columns = _checked_names(frame)
    label = guess_label(columns, options)
    assert label.column is not None
    profiles = {
        n: profile(
            n,
            frame[n],
            n != label.column and (hints_time(n) or n == options.time),
            options.dates,
        )
        for n in columns
    }
    time = guess_time(profiles, label.column, options)
    assert time.column is not None
    label_declared, task, positive = declare_label(profiles[label.column], options)
    declared = {
        n: declare_column(p, is_label=False, identifier=id_like(p))
        for n, p in profiles.items()
        if n != label.column
    }
    declared[label.column] = label_declared
    taken = {label.column, time.column}
    entity = guess_entity(profiles, taken, options)
    if entity.column is not None:
        taken.add(entity.column)
        declared[entity.column] = as_id(declared[entity.column], profiles[entity.column])
    event_id = guess_event_id(profiles, taken)
    if event_id.column is not None:
        taken.add(event_id.column)
    roles = {"label": label, "event_time": time, "entity": entity, "event_id": event_id}
    features, left_out = choose_features(profiles, declared, taken)
    for name in copies_of(frame, label.column, features):
        features.remove(name)
        left_out[name] = (
            f"equal to the label {label.column} in every row of the sample: a copy of the "
            "answer, known only after the outcome (it would leak it)"
        )
    leaks = leaks_of(frame, profiles, label.column, positive, features)
    for name, reason in leaks.items():
        features.remove(name)
        left_out[name] = reason
    names = set(columns)
    transforms, transforms_reason = time_transforms(profiles[time.column], names)
    groups, windows_reason = window_groups(entity.column, features, declared, profiles, names)
    slices, slices_reason = choose_slices(features, declared, profiles)
    spec = declaration_sections(options, roles, task, positive, declared, columns)
    if sample.dialect.reasons:
        spec["dataset"] = {"format": format_section(sample.dialect), **spec["dataset"]}
    spec["features"] = {"columns": features, "transforms": transforms}
    if groups:
        spec["features"]["windows"] = {"inclusive": False, "aggregates": groups}
    spec.update(default_sections(task.column, profiles[time.column], slices))
    bounds, balance_reason = label_balance(profiles[label.column], positive, profiles[time.column])
    quality: dict[str, Any] = dict(bounds)
    try:
        repeated = int(frame.duplicated().sum())
    except TypeError:  # nested values (lists in Parquet or JSON) cannot be compared as rows
        repeated = 0
    if repeated:
        # Few categorical columns and date-only times repeat rows legitimately; refusing them
        # would set aside the sample's own rows.
        quality["duplicate_rows"] = "keep"
    # Written whole (ct's defaults where the sample says nothing), so that the rules deciding
    # which rows and files are refused are in the file the user reviews.
    spec["quality"] = quality_section(quality, binary=task.column == BINARY)
    spec["serving"] = serving_section()
    spec = in_file_order(spec)
    inference = Inference(
        spec=spec,
        sample=sample.describe(),
        roles=roles,
        task=task,
        positive=positive,
        columns={n: declared[n].reason for n in columns},
        features=features,
        left_out=left_out,
        transforms=transforms_reason,
        windows=windows_reason,
        slices=slices,
        slices_reason=slices_reason,
        repeated_rows=repeated,
        format_reasons=dict(sample.dialect.reasons),
        leaks=list(leaks),
        balance=balance_reason,
    )
    inference.review = review_notes(inference, sample, profiles, declared)
    inference.review.extend(sample.dialect.review)
    return inference
