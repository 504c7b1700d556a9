"""The pulled sources, a registry: each kind is one module of this package (or of another
package, through the `ct.pulled_sources` entry point) that registers a `PulledKind` under the
name its ct.yaml section declares (`SOURCE` on the section's model in
`ct_assets/project/spec/sources.py`). The environment builds each declared source's resource
through it and the sensors land what it pulls (`base.land_pulled`); nothing else names a kind.
"""

from __future__ import annotations

from ct_assets.ml.registry import Registry
from resources.pulled.base import PulledKind

__all__ = ["PulledKind", "get", "names", "register"]

ENTRY_POINT_GROUP = "ct.pulled_sources"
_SUPPORT = frozenset({"base"})
_REGISTRY: Registry[PulledKind] = Registry("pulled source", lambda kind: kind.name)
register = _REGISTRY.register
names = _REGISTRY.names
get = _REGISTRY.get

_REGISTRY.discover(__name__, __path__, _SUPPORT, ENTRY_POINT_GROUP, load=lambda kind: kind)
