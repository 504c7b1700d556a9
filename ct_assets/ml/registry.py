"""What every plug-in registry of ct shares (model families, gates, transforms, drift methods,
pulled sources): items registered under a name, a second item under a taken name refused, the
modules of a package imported to register theirs, and an entry-point group through which
another installed package adds its own.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named items of one kind (`what` names the kind in errors)."""

    def __init__(
        self,
        what: str,
        name_of: Callable[[T], str],
        order: Callable[[T], Any] | None = None,
        same: Callable[[T, T], bool] | None = None,
        in_registration_order: bool = False,
    ) -> None:
        self.what = what
        self._name_of = name_of
        # Listing order (families and gates by rank); by name without one, or as registered.
        self._order = order or name_of
        self._as_registered = in_registration_order
        # Re-registering the same item (a module imported twice) is not a conflict.
        self._same = same or (lambda a, b: a == b)
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        name = self._name_of(item)
        taken = self._items.get(name)
        if taken is not None and not self._same(taken, item):
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Remove an item (tests that register one of their own)."""
        self._items.pop(name, None)

    def items(self) -> list[T]:
        if self._as_registered:
            return list(self._items.values())
        return sorted(self._items.values(), key=lambda i: (self._order(i), self._name_of(i)))

    def names(self) -> tuple[str, ...]:
        return tuple(self._name_of(item) for item in self.items())

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.what} {name!r}; known: {', '.join(self.names())}"
            ) from None

    def discover(
        self,
        package: str,
        path: Iterable[str],
        support: frozenset[str] = frozenset(),
        entry_point_group: str | None = None,
        load: Callable[[Any], T] | None = None,
    ) -> None:
        """Import every module of `package` but its `support` modules (each registers what it
        holds), then load the entry point group: by default an item, or a class making one;
        `load` turns what an entry point names into the item otherwise."""
        for module in pkgutil.iter_modules(path):
            if module.name not in support and not module.name.startswith("_"):
                importlib.import_module(f"{package}.{module.name}")
        if entry_point_group is not None:
            self.load_entry_points(entry_point_group, load)

    def load_entry_points(self, group: str, load: Callable[[Any], T] | None = None) -> None:
        """Register what each entry point of `group` names (see `discover`)."""
        for point in entry_points(group=group):
            loaded = point.load()
            if load is not None:
                self.register(load(loaded))
            else:
                self.register(loaded() if isinstance(loaded, type) else loaded)
