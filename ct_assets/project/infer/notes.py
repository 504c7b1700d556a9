"""Review: what the user should check in the inferred ct.yaml before `ct up`.

Guesses a flag can overrule (the label, the positive class, the entity), what the sample cannot
show (rows not read, zoneless or future times, too few days), and choices made for the user
(guessed bounds, leaks left out, repeated rows kept).
"""

from __future__ import annotations

import pandas as pd

from ct_assets.ml.vocabulary import REGRESSION
from ct_assets.project.infer.base import MAX_SLICE_VALUES, Inference, Sample
from ct_assets.project.infer.declare import Declared
from ct_assets.project.infer.profile import Profile, shown_value
from ct_assets.project.infer.roles import id_like
from ct_assets.project.infer.words import hints_entity
from ct_assets.project.spec import Quality


def review_notes(
    inference: Inference,
    sample: Sample,
    profiles: dict[str, Profile],
    declared: dict[str, Declared],
) -> list[str]:
    notes: list[str] = []
    roles = inference.roles
    if sample.truncated:
        notes.append(
            f"only {sample.describe()} were read: values, categories and ranges the rest "
            "holds are not in this file"
        )
    label = roles["label"]
    if label.reason != "given by --label":
        notes.append(
            f"the label {label.column} was guessed from its name: pass --label COL if another "
            "column is the one to predict"
        )
    positive = inference.positive
    if positive is not None and "usual" not in positive.reason:
        notes.append(
            f"task.positive is {shown_value(positive.column)} ({positive.reason}): set it to the "
            "value that means 'yes'"
        )
    label_profile = profiles[str(label.column)]
    if inference.task.column == REGRESSION and label_profile.distinct <= MAX_SLICE_VALUES:
        notes.append(
            f"the label {label.column} has only {label_profile.distinct} values: if they are "
            "classes, ct predicts a binary or a numeric label, not a class among several"
        )
    notes.extend(_time_notes(profiles[str(roles["event_time"].column)]))
    notes.append(
        "no day of week of the event time is proposed: in a window of daily partitions it names "
        "the day a row is from rather than a weekly pattern (the comment on features.transforms "
        "says more)"
    )
    entity = roles["entity"]
    if entity.column is not None and "also id-like" in entity.reason:
        notes.append(f"the entity is {entity.column}: pass --entity COL to pick another")
    taken = {str(g.column) for g in roles.values() if g.column is not None}
    notes.extend(_column_notes(profiles, declared, inference.features, taken))
    notes.extend(_guessed_bounds(declared, str(label.column)))
    if inference.leaks:
        notes.append(
            f"{', '.join(inference.leaks)} left out as likely leaks of the label {label.column} "
            "(each column's comment says why): one that is known before the outcome can go back "
            "into features.columns"
        )
    if inference.repeated_rows:
        notes.append(
            f"the sample holds {inference.repeated_rows:,} rows equal in every column to an "
            "earlier one, so quality.duplicate_rows is keep (ct would set repeated rows aside, "
            "and refuse a file with too many); set it to refuse if a repeated row means a "
            "broken export"
        )
    return notes


def _guessed_bounds(declared: dict[str, Declared], label: str) -> list[str]:
    guessed = [
        n
        for n, d in declared.items()
        if n != label and d.value.get("checks", {}).get("ge") is not None
    ]
    if not guessed:
        return []
    share = Quality().max_bad_row_share
    return [
        f"ge: 0 was guessed for {', '.join(guessed)} (names or whole numbers that say a count or "
        f"an amount; each column's comment says which): a row breaking it is set aside, and a "
        f"file where more than {share:.0%} of rows break rules is refused; remove a bound the "
        "data may break"
    ]


def _time_notes(time: Profile) -> list[str]:
    notes = []
    times = pd.DatetimeIndex(time.counts.index)
    if not time.zoned:
        notes.append(
            f"event times in {time.name} carry no zone: they are read as UTC; set "
            f"dataset.columns.{time.name}.timezone if they are local times"
        )
    if time.nulls:
        notes.append(f"{time.nulls:,} rows have no event time in {time.name}")
    if times.max() > pd.Timestamp.now(tz="UTC"):
        notes.append(
            f"some event times are in the future (latest {times.max():%Y-%m-%d %H:%M} UTC): ct "
            "refuses events later than now"
        )
    days = times.normalize().nunique()
    if days < 7:
        notes.append(
            f"the sample spans {days} day(s): ct trains on the last training.window (7) daily "
            "partitions and holds out the latest rows; it needs a few days of files"
        )
    return notes


def _column_notes(
    profiles: dict[str, Profile],
    declared: dict[str, Declared],
    features: list[str],
    roles: set[str],
) -> list[str]:
    notes = []
    for name, p in profiles.items():
        if name in roles or not (id_like(p) and hints_entity(name)):
            continue
        how = "unique in the sample" if p.unique else "not a role"
        notes.append(
            f"{name} names a subject but is {how}: pass --entity {name} if window features "
            "should aggregate each one's history"
        )
    categories = [n for n in features if declared[n].value["type"] == "category"]
    if categories:
        notes.append(
            f"categories ({', '.join(categories)}) are the values the sample shows; a new value "
            "is encoded as unknown and counted (unseen: unknown); set unseen: refuse to refuse it"
        )
    return notes
