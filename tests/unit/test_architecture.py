"""Unit tests of the package layout (imports between ct_assets, resources and sensors).

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import examples
import resources
import sensors
from tests.conftest import REPOSITORY

PACKAGES = ("ct_assets", "resources", "sensors")


def test_generic_top_level_packages_come_from_this_repository() -> None:
    # `resources`, `sensors` and `examples` are common names; an installed distribution must
    # not shadow ours.
    for module in (resources, sensors, examples):
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent.parent == REPOSITORY


# The demo dataset's column names: the product must not know them.
DEMO_COLUMNS = ("amount", "n_items", "channel", "country", "account_age_days", "entity_id")


ENERGY_COLUMNS = ("temperature_c", "load_kwh", "humidity_pct", "occupancy")


def product_files() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((REPOSITORY / package).rglob("*.py"))]


def test_no_product_module_knows_an_example_s_column_names() -> None:
    names = "|".join(DEMO_COLUMNS + ENERGY_COLUMNS)
    quoted = re.compile(rf"[\"']({names})[\"']")
    found = [
        f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}"
        for path in product_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line)
    ]
    assert found == []


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


# The layers, read from the folders: what the modules under each folder may not import (a
# module name or a package prefix). The pure folders (ml, project, ingest) hold no Dagster, no
# process or thread and no adapter of ct's own records (`ct_assets.io`); the read side never
# builds an asset; nothing but the definitions and the commands assembles stages or sensors.
ASSEMBLY = ("ct_assets.definitions", "ct_assets.cli")
DAGSTER_SIDE = ("dagster", "resources", "sensors", "ct_assets.stages", "ct_assets.reads")
PURE_MAY_NOT = (*DAGSTER_SIDE, *ASSEMBLY, "ct_assets.io", "ct_assets.serve")
PROCESSES = ("subprocess", "threading", "multiprocessing", "queue")
LAYERS: dict[str, tuple[str, ...]] = {
    "ct_assets.ml": (*PURE_MAY_NOT, *PROCESSES),
    "ct_assets.project": (*PURE_MAY_NOT, *PROCESSES),
    "ct_assets.ingest": (*PURE_MAY_NOT, *PROCESSES),
    "ct_assets.io": (*DAGSTER_SIDE, *ASSEMBLY, "ct_assets.serve"),
    "ct_assets.serve": ("dagster", "sensors", "ct_assets.stages", "ct_assets.reads", *ASSEMBLY),
    "ct_assets.reads": ("sensors", "ct_assets.stages", "ct_assets.serve", *ASSEMBLY),
    "ct_assets.stages": ("sensors", "ct_assets.serve", *ASSEMBLY),
    "resources": ("sensors", "ct_assets.stages", "ct_assets.serve", *ASSEMBLY),
    "sensors": ("ct_assets.stages", "ct_assets.serve", *ASSEMBLY),
    # The Dagster Component assembles a project through the definitions, as the code location
    # does: it builds no stage, sensor or resource itself.
    "ct_assets.component": ("resources", "sensors", "ct_assets.stages", "ct_assets.reads"),
}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPOSITORY).with_suffix("").parts).removesuffix(".__init__")


def test_imports_point_one_way() -> None:
    broken = []
    for path in product_files():
        name = module_name(path)
        forbidden = next((v for k, v in LAYERS.items() if within(name, k)), ())
        for imported in imports_of(path):
            if any(within(imported, f) for f in forbidden):
                broken.append(f"{name} imports {imported}")
    assert broken == []


def test_every_product_module_lives_in_a_layer() -> None:
    """A new folder, or a module at the top of ct_assets other than the shared few, has to be
    placed in the table above first."""
    shared = {"ct_assets", "ct_assets.definitions", "ct_assets.names", "ct_assets.partitions"}
    shared |= {"ct_assets.crash"}
    placed = [*LAYERS, "ct_assets.cli"]
    unplaced = [
        name
        for name in map(module_name, product_files())
        if name not in shared and not any(within(name, layer) for layer in placed)
    ]
    assert unplaced == []
