"""The model families, a registry: each family is one module of this package (or of another
package, through the `ct.families` entry point) that registers a `Family`.

Everything that trains, logs, loads, serves or explains a model asks the registry for its
family and calls its methods; nothing outside a family's module branches on its name. Adding a
family is one module here and its test (see the README's "Adding a model family").
"""

from __future__ import annotations

from ct_assets.ml.families.base import Family, Inputs, TrainedModel
from ct_assets.ml.registry import Registry

__all__ = ["Family", "Inputs", "TrainedModel", "defaults", "get", "names", "register"]

ENTRY_POINT_GROUP = "ct.families"
# Modules of this package that hold no family.
_SUPPORT = frozenset({"base", "flavours"})
# A family re-registered by another instance of its own class (a module imported twice) is
# the same family.
_REGISTRY: Registry[Family] = Registry(
    "model family",
    lambda f: f.name,
    order=lambda f: f.rank,
    same=lambda a, b: type(a) is type(b),
)
register = _REGISTRY.register
unregister = _REGISTRY.unregister
names = _REGISTRY.names
get = _REGISTRY.get


def defaults() -> tuple[str, ...]:
    """The families a project trains when it names none."""
    return tuple(f.name for f in _REGISTRY.items() if f.by_default)


_REGISTRY.discover(__name__, __path__, _SUPPORT, ENTRY_POINT_GROUP)
