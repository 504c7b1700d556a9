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


# Stage modules: each builds assets; nothing but the definitions (and commands) assembles them.
STAGE_MODULES = {
    f"ct_assets.{name}"
    for name in (
        "raw",
        "validated",
        "features",
        "online",
        "splits",
        "candidates",
        "evaluations",
        "production",
        "drift",
    )
}


# The pure parts of ct_assets, which resources and sensors may use.
PURE = ("ct_assets.ml", "ct_assets.project", "ct_assets.ingest")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPOSITORY).with_suffix("").parts).removesuffix(".__init__")


def test_imports_point_one_way() -> None:
    broken = []
    for path in product_files():
        name = module_name(path)
        for imported in imports_of(path):
            top = imported.split(".")[0]
            if name.startswith(PURE) and top in ("resources", "sensors", "dagster"):
                broken.append(f"{name} (pure) imports {imported}")
            if name.startswith(("resources", "sensors")) and imported in STAGE_MODULES:
                broken.append(f"{name} imports the stage module {imported}")
            if name.startswith(("resources", "sensors")) and imported.startswith(
                ("ct_assets.definitions", "ct_assets.cli")
            ):
                broken.append(f"{name} imports {imported}")
            allowed = name == "ct_assets.definitions" or name.startswith("ct_assets.cli")
            if name.startswith("ct_assets") and top == "sensors" and not allowed:
                broken.append(f"{name} imports {imported}")
    assert broken == []
