"""What every bench shares: a project made from an example's ct.yaml, and peak memory."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import yaml

from ct_assets.project.load import PROJECT_FILE, Project, deep_merge, load_project

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def example_project(example: str, root: Path, changes: dict[str, dict[str, Any]]) -> Project:
    """The example's ct.yaml in `root`, with some sections' keys changed."""
    declared = yaml.safe_load((EXAMPLES / example / PROJECT_FILE).read_text())
    declared = deep_merge(declared, changes)
    root.mkdir(parents=True, exist_ok=True)
    (root / PROJECT_FILE).write_text(yaml.safe_dump(declared, sort_keys=False))
    return load_project(root, environ={})
