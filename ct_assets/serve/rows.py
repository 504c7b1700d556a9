"""One request row, as JSON gives it, to the model's inputs: pure Python, no pandas per row.

The offline features (`ct_assets.ml.features.row_features`) are the reference; this module
computes the same values for a single event from a dict, so that serving and batch scoring can
answer in microseconds. Validators are compiled once per declaration (`RowCodec`): the hot path
is one dict lookup and one small function per column.

What a row holds: the declared columns the features read (feature columns, transforms' source
columns), the entity and the event time (optional: now). Other declared columns (the label, an
event id) may travel along and are ignored; a name the dataset does not declare is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ct_assets.ml.features import UNKNOWN_CODE
from ct_assets.ml.schema.cells import FALSE_WORDS, TRUE_WORDS
from ct_assets.project.spec import EPOCH_UNITS, Column, ProjectSpec

# Booleans delivered as text are read as `ct_assets.ml.schema` reads them.
TRUE, FALSE = frozenset(TRUE_WORDS), frozenset(FALSE_WORDS)
_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
EPOCH_SECONDS = {fmt: _PER_SECOND[unit] for fmt, unit in EPOCH_UNITS.items()}
NAN = float("nan")


@dataclass(frozen=True)
class Problem:
    """Why a request (or one row of it) cannot be answered, naming the field."""

    row: int | None
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


class Invalid(ValueError):
    """A row (or a request) the declaration refuses; `problems` names every field at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"row {p.row} {p.field}: {p.reason}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    """One validated row: typed values of the columns read, its event time and entity."""

    values: dict[str, Any]
    time: datetime
    entity: str | None
    # The row as the caller sent it (for the prediction log's inputs hash).
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


Parser = Callable[[Any], Any]


class _Bad(Exception):
    """A value that does not fit its column; the message is the reason shown."""


def _finite(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        raise _Bad("not a finite number (NaN and infinity are refused)")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"expected a number, got {_kind(value)} {_shown(value)}")
    try:
        return _finite(float(value))
    except OverflowError:
        raise _Bad(f"{_shown(value)} is out of range for a number") from None


def _integer(value: Any) -> int:
    number = _number(value)
    if not number.is_integer():
        raise _Bad(f"expected an integer, got {_shown(value)}")
    return int(number)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | str):
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
    raise _Bad(f"expected true or false, got {_kind(value)} {_shown(value)}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        # An id or a category listed as numbers ([1, 2]) arrives as a JSON number.
        return str(int(value))
    raise _Bad(f"expected text, got {_kind(value)} {_shown(value)}")


def _time_parser(column: Column) -> Parser:
    zone = ZoneInfo(column.timezone)
    fmt = column.format or "iso"

    def aware(moment: datetime) -> datetime:
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment

    if fmt in EPOCH_SECONDS:
        scale = EPOCH_SECONDS[fmt]

        def epoch(value: Any) -> datetime:
            try:
                return datetime.fromtimestamp(_number(value) / scale, UTC)
            except (OverflowError, OSError, ValueError) as exc:
                raise _Bad(f"{_shown(value)} is not a time ({fmt})") from exc

        return epoch

    def text(value: Any) -> datetime:
        if not isinstance(value, str):
            raise _Bad(f"expected a time as text ({fmt}), got {_kind(value)} {_shown(value)}")
        try:
            if fmt == "iso":
                return aware(datetime.fromisoformat(value.strip()))
            return aware(datetime.strptime(value, fmt))
        except ValueError:
            raise _Bad(f"{_shown(value)} is not a time ({fmt})") from None

    return text


def _checked(name: str, column: Column, parse: Parser) -> Parser:
    """The column's type parser followed by its declared checks (ge, le, isin, regex)."""
    checks = column.checks
    lower, upper = checks.ge, checks.le
    allowed = column.allowed if column.type != "category" else None
    allowed_set: frozenset[Any] | None = None
    if allowed is not None:
        numeric = column.type in ("int", "float")
        # Declared values are held as text ("0", "1"); numbers compare as numbers (1 == 1.0).
        allowed_set = frozenset(float(a) for a in allowed) if numeric else frozenset(allowed)
    pattern = None
    if checks.regex is not None:
        import re

        pattern = re.compile(checks.regex)

    def run(value: Any) -> Any:
        typed = parse(value)
        if lower is not None and typed < lower:
            raise _Bad(f"{typed} is below the declared minimum {lower:g} (checks.ge)")
        if upper is not None and typed > upper:
            raise _Bad(f"{typed} is above the declared maximum {upper:g} (checks.le)")
        if allowed_set is not None:
            key = str(typed).lower() if isinstance(typed, bool) else typed
            if (float(key) if isinstance(key, int | float) else key) not in allowed_set:
                raise _Bad(f"{_shown(value)} is not one of {sorted(allowed_set)} (checks.isin)")
        if pattern is not None and not pattern.search(str(typed)):
            raise _Bad(f"{_shown(value)} does not match {pattern.pattern!r} (checks.regex)")
        return typed

    return run


def _category(name: str, column: Column) -> Parser:
    categories = list(column.categories or [])
    known = frozenset(categories)
    refuse = column.unseen == "refuse"

    def run(value: Any) -> str:
        text = _text(value)
        if refuse and text not in known:
            raise _Bad(
                f"unseen category {text!r}; declared: {', '.join(categories)} "
                f"(the column declares unseen: refuse)"
            )
        return text

    return run


def parser_for(name: str, column: Column) -> Parser:
    """The validator of one declared column: JSON value in, typed value out, or `_Bad`."""
    if column.type == "category":
        return _checked(name, column, _category(name, column))
    base: Parser = {
        "int": _integer,
        "float": _number,
        "bool": _boolean,
        "string": _text,
    }.get(column.type) or _time_parser(column)
    return _checked(name, column, base)


def input_columns(spec: ProjectSpec) -> tuple[str, ...]:
    """The declared columns a row must hold to be scored, in declaration order."""
    read = set(spec.features.columns)
    for t in spec.features.transforms:
        read.update(t.sources)
    if spec.dataset.entity:
        read.add(spec.dataset.entity)
    read.add(spec.dataset.time)
    return tuple(c for c in spec.dataset.columns if c in read)


class RowCodec:
    """Validators and feature functions of one declaration, compiled once."""

    def __init__(self, spec: ProjectSpec) -> None:
        self.spec = spec
        self.columns = input_columns(spec)
        self.declared = frozenset(spec.dataset.columns)
        self.time = spec.dataset.time
        self.entity = spec.dataset.entity
        self.parsers = {c: parser_for(c, spec.column(c)) for c in self.columns}
        self.nullable = frozenset(c for c in self.columns if spec.column(c).nullable)
        self.row_names = spec.row_features
        self.feature_names = spec.feature_names
        self.window_names = spec.feature_names[len(self.row_names) :]
        self._features = [_feature_function(spec, name) for name in self.row_names]

    def parse(self, raw: Any, index: int, now: datetime | None = None) -> Row:
        """One row, typed and checked; `Invalid` names every field at fault."""
        if not isinstance(raw, dict):
            raise Invalid([Problem(index, "row", f"expected an object, got {_kind(raw)}")])
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        for key in raw:
            if key not in self.declared:
                from ct_assets.project.spec import did_you_mean

                problems.append(
                    Problem(
                        index,
                        str(key),
                        f"unknown field: not a declared column{did_you_mean(key, self.columns)}",
                    )
                )
        for name in self.columns:
            value = raw.get(name)
            if value is None:
                if name == self.time:
                    values[name] = now or datetime.now(UTC)
                elif name in self.nullable:
                    values[name] = None
                else:
                    reason = (
                        "missing" if name not in raw else "null, and the column is not nullable"
                    )
                    problems.append(Problem(index, name, reason))
                continue
            try:
                values[name] = self.parsers[name](value)
            except _Bad as exc:
                problems.append(Problem(index, name, str(exc)))
        if problems:
            raise Invalid(problems)
        entity = None if self.entity is None else str(values[self.entity])
        return Row(values, values[self.time], entity, raw)

    def parse_all(self, rows: Iterable[Any], now: datetime | None = None) -> list[Row]:
        """Every row, or `Invalid` listing the problems of all rows at once."""
        parsed, problems = [], []
        for i, raw in enumerate(rows):
            try:
                parsed.append(self.parse(raw, i, now))
            except Invalid as exc:
                problems.extend(exc.problems)
        if problems:
            raise Invalid(problems)
        return parsed

    def row_features(self, row: Row) -> list[float]:
        """The row's own features (declared columns, then transforms), as floats in order."""
        values = row.values
        return [f(values) for f in self._features]

    def vector(self, row: Row, windows: dict[str, Any] | None) -> list[float]:
        """Every feature in `spec.feature_names` order: the row's own, then window features
        read from `windows` (a stored online vector, or the first-event defaults)."""
        out = self.row_features(row)
        if self.window_names:
            assert windows is not None
            out.extend(_float(windows.get(n)) for n in self.window_names)
        return out


def _float(value: Any) -> float:
    return NAN if value is None else float(value)


def _feature_function(spec: ProjectSpec, name: str) -> Callable[[Mapping[str, Any]], float]:
    """One row feature as `build_features` computes it, for a dict of typed values."""
    if name in spec.features.columns:
        column = spec.column(name)
        if column.type == "category":
            codes = {c: i for i, c in enumerate(column.categories or [])}
            return lambda v: float(codes.get(v[name], UNKNOWN_CODE))
        return lambda v: _float(v[name])
    t = next(t for t in spec.features.transforms if t.name == name)
    return t.row(lambda source: _typed_source(spec.column(source), source))


def _typed_source(column: Column, name: str) -> Callable[[Mapping[str, Any]], Any]:
    """A transform's source as transforms read it: a float (NaN when missing), or a time in
    the column's declared zone (None when missing), as `ml/features.py` hands a frame."""
    if column.type != "datetime":
        return lambda v: _float(v[name])
    zone = ZoneInfo(column.timezone)
    return lambda v: None if v[name] is None else v[name].astimezone(zone)


def first_event_windows(spec: ProjectSpec) -> dict[str, float]:
    """What the offline window features give an entity's first event (count 0, mean missing,
    ...): the window features served for an entity the online store has never seen."""
    if not spec.window_features:
        return {}
    import pandas as pd

    from ct_assets.ml.features import build_features
    from ct_assets.ml.frames import BATCH, ROW_ID

    event: dict[str, Any] = {name: _example(spec.column(name)) for name in spec.dataset.columns}
    frame = pd.DataFrame([event])
    frame[spec.dataset.time] = pd.to_datetime(frame[spec.dataset.time], utc=True)
    frame[BATCH], frame[ROW_ID] = "serving-defaults", "serving-defaults:0"
    built = build_features(frame, spec)
    names = spec.feature_names[len(spec.row_features) :]
    return {n: float(built[n].iloc[0]) for n in names}


def _example(column: Column) -> Any:
    """Some valid value of a column (window features of a first event do not depend on it)."""
    if column.type == "datetime":
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=12)
    if column.type == "category":
        return (column.categories or [""])[0]
    if column.type == "bool":
        return False
    if column.type in ("int", "float"):
        lower = column.checks.ge if column.checks.ge is not None else 0
        return int(lower) if column.type == "int" else float(lower)
    return "x"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


__all__ = [
    "Invalid",
    "Problem",
    "Row",
    "RowCodec",
    "first_event_windows",
    "input_columns",
    "parser_for",
]
