"""What `ct demo` does besides dropping files: it is also the served application and its users.

It sends each day's events to `ct serve` as they happen (before their labels exist), delivers
the labels later into the landing folder's labels folder as any delayed-label feed would, and,
on a scripted day, plays an operator who forces a bad model through as champion. Everything it
does goes through the product's own doors: HTTP, the landing folder, the MLflow registry.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from ct_assets.ingest.files import atomic_write
from ct_assets.ml.tags import ModelLineage, Provenance
from ct_assets.project.load import Project
from resources.mlflow_registry import MlflowRegistry

SERVED_PER_DAY = 300


def demo_registry(project: Project) -> MlflowRegistry:
    """The project's registry, as the demo's operator reads and overrides it."""
    from resources.environments import build_resources

    # The demo's own MLflow calls (creating the store, the forced model) narrate nothing.
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    registry: MlflowRegistry = build_resources(project)[project.namespace.name("mlflow")]
    return registry


def serving_ready(base: str, wait: float) -> bool:
    """Whether `ct serve` has a champion loaded, waiting up to `wait` seconds for it (it
    notices a new champion at its next poll of the registry)."""
    import requests

    deadline = time.monotonic() + wait
    while True:
        try:
            if requests.get(f"{base}/ready", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def serve_traffic(
    project: Project, port: int, source: Any, index: int, has_champion: bool
) -> list[tuple[str, Any]]:
    """One request per event for a sample of the day's events; (request id, label) of each
    answered one, for the labels that arrive later. Nothing is sent before a champion serves."""
    import requests

    base = f"http://127.0.0.1:{port}"
    if not serving_ready(base, 60.0 if has_champion else 0.0):
        return []
    label = project.spec.dataset.label
    day = source.day(index)
    events = day.sample(min(SERVED_PER_DAY, len(day)), random_state=index)
    rows = json.loads(events.drop(columns=[label]).to_json(orient="records", date_format="iso"))
    served = []
    with requests.Session() as session:
        for i, (row, value) in enumerate(zip(rows, events[label].tolist(), strict=True)):
            request_id = f"demo-{index}-{i:04d}"
            response = session.post(
                f"{base}/predict", json=row, headers={"X-Request-Id": request_id}, timeout=10
            )
            if response.status_code == 200:
                served.append((request_id, value))
    return served


def drop_labels(project: Project, served: list[tuple[str, Any]], partition: str) -> str:
    """The served requests' true labels, delivered as a file into the labels folder."""
    label = project.spec.dataset.label
    frame = pd.DataFrame({"request_id": [r for r, _ in served], label: [v for _, v in served]})
    path = project.landing_dir / project.spec.serving.labels_folder / f"labels_{partition}.csv"
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    return f"{len(frame)} labels in {path.relative_to(project.root)}"


def force_bad_champion(project: Project, registry: MlflowRegistry, source: Any, index: int) -> str:
    """An operator's override: a LightGBM trained on shuffled labels of the day before,
    registered and made champion without any gate."""
    from ct_assets.ml.families import Inputs
    from ct_assets.ml.families.lightgbm import train_lightgbm
    from ct_assets.ml.features import build_features, feature_set_id, with_row_ids
    from ct_assets.ml.frames import LABEL
    from ct_assets.ml.schema import validate_batch

    spec = project.spec
    day = source.day(index - 1)
    outcome = validate_batch(day, source.day_name(index - 1), spec)
    assert outcome.frame is not None, outcome.reason()
    features = build_features(with_row_ids(outcome.frame, f"forced-{index}", spec), spec)
    shuffled = pd.Series(
        np.random.default_rng(index).permutation(features[LABEL].to_numpy()),
        index=features.index,
    )
    inputs = Inputs(spec.task.type, spec.feature_names, spec.categorical_inputs)
    trained = train_lightgbm(features, shuffled, inputs)
    partition = (source.start + timedelta(days=index - 1)).isoformat()
    tags = {
        **ModelLineage(partition=partition, training_partitions=[partition]).tags(),
        **Provenance(
            feature_set_id=feature_set_id(spec),
            forced="trained on shuffled labels by the demo's operator",
        ).tags(),
    }
    logged = registry.log_candidate(trained, features, {"train_rows": len(features)}, tags)
    before = registry.champion_version()
    with registry.alias_lock():
        registry.promote(logged["version"], before, "forced by an operator: no gate ran")
    return f"an operator forced v{logged['version']} (shuffled labels) over v{before}, no gate ran"
