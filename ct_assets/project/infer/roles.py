"""Roles: which column is the label, the event time, the entity and the event id.

A flag decides where given; otherwise a name hint together with what the values show (times,
repeats, uniqueness). Where the sample leaves the label or the time open, `CannotInfer` names the
flag that decides it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ct_assets.project.infer.base import MAX_SLICE_VALUES, CannotInfer, Guess, InitOptions
from ct_assets.project.infer.profile import Profile, examples_of
from ct_assets.project.infer.words import (
    ENTITY_WORDS,
    LABEL_NAMES,
    LABEL_WORDS,
    hints_entity,
    hints_event,
    hints_id,
    normalized,
    words,
)
from ct_assets.project.spec import did_you_mean


def id_like(p: Profile) -> bool:
    """Named as an identifier: an id word, or a subject's name alone (customer, device) over
    more values than a kind has (a `device` of ios and android is a kind of device)."""
    if hints_id(p.name):
        return True
    return normalized(p.name) in ENTITY_WORDS and p.distinct > MAX_SLICE_VALUES


def _columns_listed(names: Iterable[str]) -> str:
    return ", ".join(names)


def _require_column(flag: str, name: str, columns: list[str]) -> None:
    if name not in columns:
        raise CannotInfer(
            f"{flag} {name}: no such column; columns: {_columns_listed(columns)}"
            f"{did_you_mean(name, columns)}"
        )


def guess_label(columns: list[str], options: InitOptions) -> Guess:
    if options.label is not None:
        _require_column("--label", options.label, columns)
        return Guess(options.label, "given by --label")
    by_name = {normalized(c): c for c in columns}
    for usual in LABEL_NAMES:
        if usual in by_name:
            return Guess(by_name[usual], f"named like a label ({usual})")
    worded = [c for c in columns if LABEL_WORDS & set(words(c))]
    if len(worded) == 1:
        return Guess(worded[0], "its name says label or target")
    if worded:
        raise CannotInfer(
            f"cannot tell the label: pass --label COL (candidates: {_columns_listed(worded)})"
        )
    raise CannotInfer(
        f"cannot tell the label: pass --label COL (columns: {_columns_listed(columns)})"
    )


def guess_time(profiles: dict[str, Profile], label: str, options: InitOptions) -> Guess:
    if options.time is not None:
        _require_column("--time", options.time, list(profiles))
        if options.time == label:
            raise CannotInfer(f"--time {options.time}: that is the label")
        found = profiles[options.time]
        if found.kind != "datetime":
            raise CannotInfer(
                f"--time {options.time}: its values are not times ct can read (e.g. "
                f"{examples_of(found)}); event times are ISO 8601 text, or epoch seconds or "
                "milliseconds"
            )
        return Guess(options.time, f"given by --time ({found.note})")
    times = [n for n, p in profiles.items() if p.kind == "datetime" and n != label]
    if len(times) == 1:
        return Guess(times[0], f"the only time column ({profiles[times[0]].note})")
    if times:
        raise CannotInfer(
            f"cannot tell the event time: pass --time COL (time columns: {_columns_listed(times)})"
        )
    raise CannotInfer(
        "cannot tell the event time: no column holds times (ISO 8601 text, dates such as "
        "12/31/2026 or 31.12.2026, or epoch seconds or milliseconds in a column named like a "
        "time); ct partitions data by when each row happened: pass --time COL, or add such a "
        f"column to the export (columns: {_columns_listed(profiles)})"
    )


def guess_entity(profiles: dict[str, Profile], taken: set[str], options: InitOptions) -> Guess:
    if options.entity is not None:
        _require_column("--entity", options.entity, list(profiles))
        if options.entity in taken:
            raise CannotInfer(f"--entity {options.entity}: that column already has a role")
        kind = profiles[options.entity].kind
        if kind not in ("int", "text"):
            raise CannotInfer(
                f"--entity {options.entity}: an entity is an id (whole numbers or text); this "
                f"column holds {kind} values"
            )
        return Guess(options.entity, "given by --entity")
    repeating = [
        p
        for n, p in profiles.items()
        if n not in taken and p.kind in ("int", "text") and id_like(p) and p.repeats
    ]
    if not repeating:
        return Guess(
            None, "no id-like column whose values repeat: per-entity window features are off"
        )
    repeating.sort(key=lambda p: not hints_entity(p.name))
    chosen = repeating[0]
    why = "an identifier of a subject" if hints_entity(chosen.name) else "an identifier"
    reason = (
        f"its name reads as {why}, and its values repeat ({chosen.distinct:,} distinct in "
        f"{chosen.present:,} rows): window features aggregate each one's earlier events"
    )
    others = [p.name for p in repeating[1:]]
    if others:
        reason += f"; also id-like and repeating: {_columns_listed(others)}"
    return Guess(chosen.name, reason)


def guess_event_id(profiles: dict[str, Profile], taken: set[str]) -> Guess:
    unique = [
        p
        for n, p in profiles.items()
        if n not in taken
        and p.kind in ("int", "text")
        and p.unique
        and id_like(p)
        and not hints_entity(n)
    ]
    if not unique:
        return Guess(
            None,
            "no id-like column unique in the sample: ct derives a row id from the batch "
            "and row number",
        )
    unique.sort(key=lambda p: not hints_event(p.name))
    chosen = unique[0]
    return Guess(
        chosen.name,
        f"its name reads as an event's id, and its {chosen.rows:,} values are all different: "
        "a batch repeating one is refused",
    )
