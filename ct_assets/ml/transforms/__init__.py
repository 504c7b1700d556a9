"""The transforms of `features.transforms`, a registry: each transform is one module of this
package (or of another package, through the `ct.transforms` entry point) holding its
declaration (a pydantic model discriminated by `op`) and its frame and row implementations.

The spec's union of transforms, its rules (what column a transform reads), training, batch
scoring and serving ask the registry; nothing outside a transform's module branches on its op.
Adding a transform is one module here; the parity test covers it through its `EXAMPLES`.
"""

from __future__ import annotations

from ct_assets.ml.registry import Registry
from ct_assets.ml.transforms.base import Transform

__all__ = ["Transform", "classes", "get", "ops", "register"]

ENTRY_POINT_GROUP = "ct.transforms"
_SUPPORT = frozenset({"base"})
# Transforms are classes (the spec's union is of models), registered under their `op`.
_REGISTRY: Registry[type[Transform]] = Registry("transform op", lambda kind: kind.op_name())
register = _REGISTRY.register
get = _REGISTRY.get
# Every registered op, in the order ct.yaml's errors list them.
ops = _REGISTRY.names


def classes() -> tuple[type[Transform], ...]:
    return tuple(_REGISTRY.items())


_REGISTRY.discover(__name__, __path__, _SUPPORT, ENTRY_POINT_GROUP, load=lambda kind: kind)
