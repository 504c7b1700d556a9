"""Delayed labels for served predictions: files of (request_id, row, label), kept immutably.

A label file is copied under its content hash (`<labels dir>/<sha256>.<ext>`) before anything
reads it, so what a metric was computed from can always be read again; a file that cannot be
read is moved to `rejected/` with its reason beside it, never dropped.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ct_assets.ingest.dialect import number_text
from ct_assets.ingest.files import Location, listing, modified_at, read_bytes, write_object
from ct_assets.ingest.landing import bytes_hash
from ct_assets.ingest.parsing import parse_bytes
from ct_assets.ml.live_labels import read_labels
from ct_assets.ml.vocabulary import BINARY
from ct_assets.project.spec import ProjectSpec

FOLDER = "labels"
REJECTED = "rejected"


def labels_dir(data_dir: Location) -> Location:
    """Where delayed-label files are kept, immutable, under their content hash."""
    return data_dir / FOLDER


def extension(name: str) -> str:
    """The file's format suffix, kept so the copy is read as the original was ('csv.gz')."""
    parts = name.lower().split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 and parts[-1] == "gz" else parts[-1]


def label_numbers(values: pd.Series, spec: ProjectSpec, what: str) -> pd.Series:
    """Labels as models are scored on them: 0/1 for binary (1 = positive), else numbers."""
    kind = spec.column(spec.dataset.label).type
    if spec.task.type != BINARY or kind in ("int", "float"):
        delivery = spec.dataset.format
        text = values if delivery.plain_numbers else number_text(values, delivery)[0]
        numbers = pd.to_numeric(text, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if len(bad):
            raise ValueError(
                f"{what}: row {int(bad[0])}, column {spec.dataset.label}: "
                f"{values.iloc[bad[0]]!r} is not a number"
            )
        if spec.task.type != BINARY:
            return numbers.astype(float)
        return (numbers == float(spec.positive)).astype("int64")
    text = values.astype(str).str.strip().str.lower()
    known = {spec.positive.lower(), spec.negative.lower()}
    bad = np.flatnonzero(~text.isin(known).to_numpy())
    if len(bad):
        raise ValueError(
            f"{what}: row {int(bad[0])}, column {spec.dataset.label}: "
            f"{values.iloc[bad[0]]!r} is neither of {sorted(known)}"
        )
    return (text == spec.positive.lower()).astype("int64")


def parse_label_file(data: bytes, name: str, spec: ProjectSpec) -> pd.DataFrame:
    """(request_id, row, label) of one label file; raises ValueError naming file, row, column."""
    parsed = parse_bytes(data, name, delivery=spec.dataset.format)
    if parsed.frame is None:
        raise ValueError(f"{name}: " + "; ".join(f.describe() for f in parsed.failures))
    labels = read_labels(parsed.frame, spec.dataset.label, name)
    labels["label"] = label_numbers(labels["label"], spec, name).to_numpy()
    return labels


def keep(data: bytes, name: str, folder: Location) -> Location:
    """The file's bytes under their hash (written once; the same bytes again are the same)."""
    target = folder / f"{bytes_hash(data)}.{extension(name)}"
    if not target.exists():
        write_object(target, data)
    return target


def reject(data: bytes, source: str, reason: str, folder: Location) -> Location:
    """Set a file that cannot be read aside, with why, for someone to fix and drop again."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    aside = folder / REJECTED / f"{bytes_hash(data)[:16]}-{name}"
    write_object(aside, data)
    why = json.dumps({"file": source, "reason": reason}).encode()
    write_object(aside.with_name(aside.name + ".reason.json"), why)
    return aside


def kept_labels(folder: Location, spec: ProjectSpec) -> pd.DataFrame:
    """Every kept label, oldest copy first (a later file's label for the same row wins)."""
    kept = [p for p in listing(folder, "*.*") if p.name != REJECTED]
    files = sorted(kept, key=lambda p: (modified_at(p), p.name))
    frames = [parse_label_file(read_bytes(p), p.name, spec) for p in files]
    if not frames:
        return pd.DataFrame({"request_id": [], "row": [], "label": []}).astype(
            {"request_id": str, "row": "int64", "label": float}
        )
    return pd.concat(frames, ignore_index=True)
