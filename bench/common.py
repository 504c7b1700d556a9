"""What every bench shares: a project made from an example's ct.yaml, and peak memory."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ct_assets.ml.features import with_row_ids
from ct_assets.ml.schema import validate_batch
from ct_assets.project.load import PROJECT_FILE, Project, deep_merge, load_project
from ct_assets.project.spec import ProjectSpec

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


def validated_day(source: Any, index: int, spec: ProjectSpec) -> pd.DataFrame:
    """A generator's day as `validated_batches` types it: the declared schema, batch and row
    ids (batch `b-<index>`)."""
    outcome = validate_batch(source.day(index), source.day_name(index), spec)
    assert outcome.frame is not None, outcome.reason()
    return with_row_ids(outcome.frame, f"b-{index}", spec)
