"""The registry every plug-in kind shares (families, gates, transforms, drift methods, pulled
sources): names, order, a taken name refused, an unknown one named with the known ones."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ct_assets.ml.registry import Registry


@dataclass(frozen=True)
class Item:
    name: str
    rank: int = 0


def test_items_are_listed_by_rank_then_name_or_as_registered() -> None:
    ranked: Registry[Item] = Registry("item", lambda i: i.name, order=lambda i: i.rank)
    for item in (Item("b", 1), Item("c", 0), Item("a", 1)):
        ranked.register(item)
    assert ranked.names() == ("c", "a", "b")
    kept: Registry[Item] = Registry("item", lambda i: i.name, in_registration_order=True)
    for item in (Item("b"), Item("c"), Item("a")):
        kept.register(item)
    assert kept.names() == ("b", "c", "a")


def test_a_taken_name_is_refused_unless_it_is_the_same_item_again() -> None:
    registry: Registry[Item] = Registry("widget", lambda i: i.name)
    registry.register(Item("a"))
    registry.register(Item("a"))  # a module imported twice registers the same item again
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        registry.register(Item("a", rank=3))
    registry.unregister("a")
    registry.register(Item("a", rank=3))
    assert registry.get("a").rank == 3


def test_an_unknown_name_is_refused_naming_the_known_ones() -> None:
    registry: Registry[Item] = Registry("widget", lambda i: i.name)
    registry.register(Item("a"))
    registry.register(Item("b"))
    with pytest.raises(ValueError, match="unknown widget 'z'; known: a, b"):
        registry.get("z")
