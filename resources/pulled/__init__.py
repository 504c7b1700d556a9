"""The pulled sources, a registry: each kind is one module of this package (or of another
package, through the `ct.pulled_sources` entry point) that registers a `PulledKind` under the
name its ct.yaml section declares (`SOURCE` on the section's model in
`ct_assets/project/spec/sources.py`). The environment builds each declared source's resource
through it and the sensors land what it pulls (`base.land_pulled`); nothing else names a kind.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from resources.pulled.base import PulledKind

__all__ = ["PulledKind", "get", "names", "register"]

ENTRY_POINT_GROUP = "ct.pulled_sources"
_SUPPORT = frozenset({"base"})
_REGISTRY: dict[str, PulledKind] = {}


def register(kind: PulledKind) -> PulledKind:
    taken = _REGISTRY.get(kind.name)
    if taken is not None and taken != kind:
        raise ValueError(f"pulled source {kind.name!r} is registered twice")
    _REGISTRY[kind.name] = kind
    return kind


def names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get(name: str) -> PulledKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown pulled source {name!r}; known: {', '.join(names())}") from None


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _SUPPORT and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        register(point.load())


_discover()
