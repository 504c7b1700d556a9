"""Declaring: each column's `dataset.columns` entry (type, nullable, categories, checks)
with its reason, and the label's, which also decides the task and a binary task's positive class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ct_assets.ml.vocabulary import BINARY, REGRESSION
from ct_assets.project.infer.base import (
    MAX_CATEGORIES,
    MIN_ROWS_PER_CATEGORY,
    CannotInfer,
    Guess,
    InitOptions,
)
from ct_assets.project.infer.profile import Profile, examples_of, plain, shown_value
from ct_assets.project.infer.words import SIGNED_WORDS, hints_flag, hints_nonnegative, words
from ct_assets.project.spec import USUAL_POSITIVES, Quality

# A column this often null in the sample gets a per-column null limit above its share (the
# default limit, quality.max_null_share, would refuse the sample itself, or the next day's).
NULL_HEADROOM_FROM = Quality().max_null_share / 2


@dataclass(frozen=True)
class Declared:
    value: dict[str, Any]
    reason: str


# -- columns -----------------------------------------------------------------------------------


def _numbers(p: Profile) -> tuple[float, float]:
    index = pd.Index(p.counts.index).astype(float)
    return float(index.min()), float(index.max())


def _number(value: float) -> str:
    return f"{value:g}" if not float(value).is_integer() else f"{int(value)}"


def declare_column(p: Profile, is_label: bool, identifier: bool) -> Declared:
    """The declaration of one non-label column, or the label's base type."""
    value: dict[str, Any] = {}
    if p.kind == "empty":
        return Declared({"type": "string", "nullable": True}, "empty in every row of the sample")
    if p.kind == "bool":
        value, reason = {"type": "bool"}, p.note
    elif p.kind == "datetime":
        value = {"type": "datetime"}
        if p.time_format not in (None, "iso"):
            value["format"] = p.time_format
        reason = p.note
    elif p.kind in ("int", "float"):
        value, reason = _declare_number(p, is_label)
    elif (
        identifier or p.distinct > MAX_CATEGORIES or p.distinct * MIN_ROWS_PER_CATEGORY > p.present
    ):
        value = {"type": "string"}
        reason = f"text with {p.distinct:,} distinct values in {p.present:,} rows" + (
            ": an identifier" if identifier else ""
        )
    else:
        categories = sorted(str(v) for v in p.counts.index)
        # A value the sample did not show is encoded as unknown and counted, not refused: one
        # day's sample rarely shows every value the next days bring.
        value = {"type": "category", "categories": categories, "unseen": "unknown"}
        reason = f"text with {p.distinct} distinct values in {p.present:,} rows"
    if p.nulls:
        value["nullable"] = True
        reason += f"; {p.nulls:,} empty in the sample ({p.null_share:.0%})"
    if p.null_share > NULL_HEADROOM_FROM and not is_label:
        limit = min(1.0, math.ceil((p.null_share + (1 - p.null_share) / 2) * 100) / 100)
        value.setdefault("checks", {})["max_null_share"] = limit
        reason += f"; a batch may be up to {limit:.0%} empty here (the default limit is 50%)"
    return Declared(_in_order(value), reason)


_KEY_ORDER = ("type", "format", "nullable", "categories", "unseen", "checks")


def _in_order(value: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order a reader scans a column: what it is, then what it allows."""
    return {k: value[k] for k in sorted(value, key=_KEY_ORDER.index)}


def _declare_number(p: Profile, is_label: bool) -> tuple[dict[str, Any], str]:
    """A number's type and the only bound a sample supports: ge: 0 where the name or the values
    say the column counts or measures something (a guess, and the reason says so)."""
    low, high = _numbers(p)
    if p.kind == "int" and not is_label and hints_flag(p.name) and set(p.counts.index) <= {0, 1}:
        return {"type": "bool"}, "0/1 in a column named like a flag"
    value: dict[str, Any] = {"type": p.kind}
    reason = f"{p.note}, {_number(low)} to {_number(high)}"
    if is_label:
        # A bound on the label refuses the rows the model most needs to see (a rare negative
        # of a regression target): the label's range is learnt, never checked.
        return value, reason + "; the label: no bounds"
    if low < 0:
        return value, reason + "; negatives occur, so no bounds"
    why = _nonnegative_because(p)
    if why is None:
        return value, (
            reason + "; none negative in the sample, but neither its name nor its values say "
            "it cannot be: no bounds"
        )
    value["checks"] = {"ge": 0}
    return value, reason + f"; ge: 0 guessed: {why}; no upper bound"


def _nonnegative_because(p: Profile) -> str | None:
    """Why a column without negatives in the sample cannot have any (None: nothing says so)."""
    if SIGNED_WORDS & set(words(p.name)):
        return None
    word = hints_nonnegative(p.name)
    if word is not None:
        return f"the name says a count or an amount ({word})"
    if p.kind == "int" or bool((pd.Index(p.counts.index).astype(float) % 1 == 0).all()):
        return "whole numbers, none negative: a count"
    return None


def as_id(declared: Declared, p: Profile) -> Declared:
    """An entity is an id: a category of today's customers would refuse tomorrow's."""
    if declared.value["type"] in ("int", "string"):
        return declared
    value: dict[str, Any] = {"type": "int" if p.kind == "int" else "string"}
    if p.nulls:
        value["nullable"] = True
    return Declared(value, f"{declared.reason}; declared as an id")


# -- the label and the task --------------------------------------------------------------------


def declare_label(p: Profile, options: InitOptions) -> tuple[Declared, Guess, Guess | None]:
    """The label's declaration, the task, and the positive class of a binary task."""
    name = p.name
    if p.nulls:
        raise CannotInfer(
            f"label {name}: {p.nulls:,} rows of the sample have no label; ct needs one on every "
            "row: drop them from the sample, or pass another --label COL"
        )
    if p.kind in ("datetime", "empty"):
        raise CannotInfer(
            f"label {name} holds {'times' if p.kind == 'datetime' else 'nothing'}: pass "
            "--label COL with the column to predict"
        )
    task = options.task or _task_from(p)
    if task == BINARY:
        return _binary_label(p, options)
    if p.kind not in ("int", "float"):
        raise CannotInfer(
            f"--task regression needs a numeric label; {name} holds {p.kind} values such as "
            f"{examples_of(p)}"
        )
    value, reason = _declare_number(p, is_label=True)
    why = "given by --task" if options.task else f"the label is numeric with {p.distinct:,} values"
    return Declared(value, reason), Guess(REGRESSION, why), None


def _task_from(p: Profile) -> str:
    if p.distinct == 2:
        return BINARY
    if p.distinct < 2:
        raise CannotInfer(
            f"label {p.name} has one value ({examples_of(p)}) in the sample: a binary project "
            "needs both classes in it; pass a sample with both, or --task regression"
        )
    if p.kind in ("int", "float"):
        return REGRESSION
    raise CannotInfer(
        f"label {p.name} has {p.distinct} values ({examples_of(p, 6)}...): multiclass is not "
        "supported; ct predicts a binary or a numeric label: pass --label COL with another "
        "column, or make the label two-valued in the data"
    )


def _binary_label(p: Profile, options: InitOptions) -> tuple[Declared, Guess, Guess]:
    if p.distinct != 2:
        raise CannotInfer(
            f"--task binary: label {p.name} has {p.distinct:,} distinct values in the sample "
            f"(e.g. {examples_of(p)}); binary needs exactly two"
        )
    why = "given by --task" if options.task else "the label has exactly two values"
    counts = p.counts
    if p.kind == "bool":
        reason = p.note
        return Declared({"type": "bool"}, reason), Guess(BINARY, why), _positive(counts, True)
    if p.kind in ("int", "float"):
        kind = p.kind
        values = sorted(int(v) if kind == "int" else float(v) for v in counts.index)
        declared: dict[str, Any] = {"type": kind, "checks": {"isin": values}}
        reason = f"{p.note}: {_number(values[0])} or {_number(values[1])}"
        return Declared(declared, reason), Guess(BINARY, why), _positive(counts, 1)
    categories = sorted(str(v) for v in counts.index)
    declared = {"type": "category", "categories": categories}
    reason = f"text with two values: {categories[0]!r} or {categories[1]!r}"
    text_counts = pd.Series(counts.to_numpy(), index=[str(v) for v in counts.index])
    return Declared(declared, reason), Guess(BINARY, why), _positive(text_counts, None)


def _positive(counts: pd.Series, usual: bool | int | None) -> Guess:
    """1 or true (or 'yes', 'positive' as text) when the label holds it; else the minority
    class (ties: the later value)."""
    total = int(counts.sum())
    values = [plain(v) for v in counts.index]
    share = {v: int(c) / total for v, c in zip(values, counts.to_numpy(), strict=True)}
    for value in values:
        if _is_usual(value, usual):
            return Guess(value, f"{shown_value(value)} is the usual positive ({share[value]:.1%})")
    # min keeps the first of equals: scanning from the end makes a tie go to the later value.
    minority = min(reversed(sorted(values)), key=lambda v: share[v])
    even = len(set(share.values())) == 1
    why = "the classes are even: the later value" if even else "the minority class"
    return Guess(minority, f"{why} ({share[minority]:.1%} of rows)")


def _is_usual(value: Any, usual: bool | int | None) -> bool:
    if usual is not None:
        return bool(value == usual)
    return str(value).strip().lower() in USUAL_POSITIVES
