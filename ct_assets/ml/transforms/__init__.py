"""The transforms of `features.transforms`, a registry: each transform is one module of this
package (or of another package, through the `ct.transforms` entry point) holding its
declaration (a pydantic model discriminated by `op`) and its frame and row implementations.

The spec's union of transforms, its rules (what column a transform reads), training, batch
scoring and serving ask the registry; nothing outside a transform's module branches on its op.
Adding a transform is one module here; the parity test covers it through its `EXAMPLES`.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from ct_assets.ml.transforms.base import Transform

__all__ = ["Transform", "classes", "get", "ops", "register"]

ENTRY_POINT_GROUP = "ct.transforms"
_SUPPORT = frozenset({"base"})
_REGISTRY: dict[str, type[Transform]] = {}


def register(kind: type[Transform]) -> type[Transform]:
    """Add a transform under its op; a second one under a taken op is a programming error."""
    op = kind.op_name()
    taken = _REGISTRY.get(op)
    if taken is not None and taken is not kind:
        raise ValueError(
            f"transform op {op!r} is registered twice: {taken.__module__} and {kind.__module__}"
        )
    _REGISTRY[op] = kind
    return kind


def ops() -> tuple[str, ...]:
    """Every registered op, in the order ct.yaml's errors list them."""
    return tuple(sorted(_REGISTRY))


def classes() -> tuple[type[Transform], ...]:
    return tuple(_REGISTRY[op] for op in ops())


def get(op: str) -> type[Transform]:
    try:
        return _REGISTRY[op]
    except KeyError:
        raise ValueError(f"unknown transform op {op!r}; known: {', '.join(ops())}") from None


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _SUPPORT and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        register(point.load())


_discover()
