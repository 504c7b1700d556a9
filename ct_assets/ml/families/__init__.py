"""The model families, a registry: each family is one module of this package (or of another
package, through the `ct.families` entry point) that registers a `Family`.

Everything that trains, logs, loads, serves or explains a model asks the registry for its
family and calls its methods; nothing outside a family's module branches on its name. Adding a
family is one module here and its test (see the README's "Adding a model family").
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from ct_assets.ml.families.base import Family, Inputs, TrainedModel

__all__ = ["Family", "Inputs", "TrainedModel", "defaults", "get", "names", "register"]

ENTRY_POINT_GROUP = "ct.families"
# Modules of this package that hold no family.
_SUPPORT = frozenset({"base", "flavours"})
_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family; a second family under a taken name is a programming error."""
    taken = _REGISTRY.get(family.name)
    if taken is not None and type(taken) is not type(family):
        raise ValueError(
            f"model family {family.name!r} is registered twice: "
            f"{type(taken).__module__} and {type(family).__module__}"
        )
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family (tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Every registered family, by rank."""
    return tuple(f.name for f in sorted(_REGISTRY.values(), key=lambda f: (f.rank, f.name)))


def defaults() -> tuple[str, ...]:
    """The families a project trains when it names none."""
    return tuple(n for n in names() if _REGISTRY[n].by_default)


def get(name: str) -> Family:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(names())}") from None


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _SUPPORT and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        loaded = point.load()
        register(loaded() if isinstance(loaded, type) else loaded)


_discover()
