"""Rules across sections (a feature over a declared column, a floor over a metric of the
task, a split its data allows), each naming the key it is about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ct_assets.ml.split_strategies import STRATEGIES
from ct_assets.ml.vocabulary import (
    BINARY,
    TASK_METRICS,
)
from ct_assets.project.spec.base import did_you_mean
from ct_assets.project.spec.dataset import NUMERIC_TYPES
from ct_assets.project.spec.gates import BOUND, check_floor

if TYPE_CHECKING:
    from ct_assets.project.spec.project import ProjectSpec


def check_project(spec: ProjectSpec) -> None:
    """Every rule across sections; the first broken one raises, naming its key."""
    _check_task(spec)
    _check_features(spec)
    _check_gates(spec)
    _check_rest(spec)


def _check_task(spec: ProjectSpec) -> None:
    label = spec.column(spec.dataset.label)
    if spec.task.type == BINARY:
        values = spec.dataset.label_values()
        if values is None or len(values) != 2:
            found = "none" if values is None else ", ".join(values)
            raise ValueError(
                f"task: binary needs the label {spec.dataset.label!r} restricted to two values "
                f"(checks.isin: [0, 1], or a category with two categories); it allows {found}"
            )
        if spec.task.positive is not None and spec.task.positive not in values:
            raise ValueError(
                f"task.positive: {spec.task.positive!r} is not a value of the label "
                f"{spec.dataset.label!r} ({', '.join(values)})"
            )
    elif label.type not in ("int", "float"):
        raise ValueError(
            f"task: regression needs a numeric label; {spec.dataset.label!r} is a {label.type} "
            "column"
        )


def _check_features(spec: ProjectSpec) -> None:
    ds, f = spec.dataset, spec.features
    roles = {r: c for r, c in ds.roles.model_dump().items() if c is not None}
    for i, name in enumerate(f.columns):
        where = f"features.columns[{i}]"
        if name not in ds.columns:
            raise ValueError(
                f"{where}: {name!r} is not a declared column{did_you_mean(name, ds.columns)}"
            )
        role = next((r for r, c in roles.items() if c == name and r != "entity"), None)
        if role is not None:
            raise ValueError(f"{where}: {name!r} is the {role}; a model does not read it")
        kind = ds.columns[name].type
        if kind in ("string", "datetime"):
            hint = (
                "use a transform (hour, day_of_week)"
                if kind == "datetime"
                else "declare it a category with its categories, or leave it out"
            )
            raise ValueError(f"{where}: {name!r} is a {kind} column: {hint}")
    for i, t in enumerate(f.transforms):
        where = f"features.transforms[{i}] ({t.name})"
        for source in t.sources:
            if source not in ds.columns:
                raise ValueError(
                    f"{where}: {source!r} is not a declared column"
                    f"{did_you_mean(source, ds.columns)}"
                )
            kind = ds.columns[source].type
            fits = kind == "datetime" if t.READS == "datetime" else kind in NUMERIC_TYPES
            if not fits:
                raise ValueError(f"{where}: {t.op} reads a {t.READS} column; {source!r} is {kind}")
            if source == ds.label:
                raise ValueError(f"{where}: {source!r} is the label; a model does not read it")
    if f.windows.aggregates and ds.entity is None:
        raise ValueError(
            "features.windows: window features aggregate each entity's earlier events; declare "
            "dataset.roles.entity, or remove the windows"
        )
    for i, group in enumerate(f.windows.aggregates):
        where = f"features.windows.aggregates[{i}]"
        if group.column not in ds.columns:
            raise ValueError(
                f"{where}.column: {group.column!r} is not a declared column"
                f"{did_you_mean(group.column, ds.columns)}"
            )
        kind = ds.columns[group.column].type
        if kind not in NUMERIC_TYPES:
            raise ValueError(
                f"{where}.column: a window feature aggregates a numeric column; "
                f"{group.column!r} is a {kind} column"
            )
        if group.column == ds.label:
            raise ValueError(
                f"{where}.column: {group.column!r} is the label; windows over past labels leak "
                "the answer of events whose labels arrive late"
            )
    names = spec.feature_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"features: names defined twice: {duplicated}")
    clash = [t.name for t in f.transforms if t.name in ds.columns]
    if clash:
        raise ValueError(f"features.transforms: {clash} already name declared columns")
    if not names:
        raise ValueError("features: no column, transform or window feature: the model reads none")


def _check_gates(spec: ProjectSpec) -> None:
    known = TASK_METRICS[spec.task.type]
    for i, floor in enumerate(spec.floors):
        found = BOUND.match(floor)
        assert found is not None  # validated by Gates
        if found.group(1) not in known:
            raise ValueError(
                f"gates.floors[{i}]: {found.group(1)!r} is not a {spec.task.type} metric; "
                f"known: {', '.join(known)}{did_you_mean(found.group(1), known)}"
            )
        check_floor(f"gates.floors[{i}]", found.group(1), found.group(2), float(found.group(3)))
    for i, name in enumerate(spec.gates.slices.columns):
        where = f"gates.slices.columns[{i}]"
        if name not in spec.dataset.columns:
            raise ValueError(
                f"{where}: {name!r} is not a declared column"
                f"{did_you_mean(name, spec.dataset.columns)}"
            )
        kind = spec.column(name).type
        if kind in ("float", "datetime"):
            raise ValueError(
                f"{where}: {name!r} is a {kind} column; slices are groups of a category, "
                "bool, int or string column"
            )


def _check_rest(spec: ProjectSpec) -> None:
    split = STRATEGIES.get(spec.training.split)
    if split is not None and split.needs_entity and spec.dataset.entity is None:
        raise ValueError(
            f"training.split: {split.name} splits by entity; declare dataset.roles.entity"
        )
    if split is not None and split.binary_only and spec.task.type != BINARY:
        raise ValueError(f"training.split: {split.name} needs a binary label")
    unknown = set(spec.quality.blocking or []) - set(spec.dimensions)
    if unknown:
        raise ValueError(
            f"quality.blocking: {sorted(unknown)} are not dimensions of a {spec.task.type} "
            f"task; known: {', '.join(spec.dimensions)}"
        )
    sql = spec.sources.sql
    if sql is not None and sql.key_column is None and spec.dataset.event_id is None:
        raise ValueError(
            "sources.sql.key_column: a SQL source needs a key to order rows within a watermark; "
            "name one, or declare dataset.roles.event_id"
        )
    names = set(spec.feature_names)
    unknown_drift = [c for c in spec.drift.exclude if c not in names]
    if unknown_drift:
        raise ValueError(
            f"drift.exclude: {unknown_drift} are not features; features: {', '.join(names)}"
        )
    forced = spec.training.selection.force
    for i, name in enumerate(forced):
        if name not in names:
            raise ValueError(
                f"training.selection.force[{i}]: {name!r} is not a feature"
                f"{did_you_mean(name, names)}; features: {', '.join(spec.feature_names)}"
            )
