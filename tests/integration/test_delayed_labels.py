"""Delayed labels: label files joined to the prediction log give each version's served metric."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ct_assets.io.labels import labels_dir
from ct_assets.io.predictions import (
    ANSWER,
    CANARY_ROUTE,
    CHAMPION_ROUTE,
    SHADOW,
    Prediction,
    write_batch,
)
from ct_assets.names import REASON_TAG, SERVED_PERFORMANCE, TRIGGER_TAG
from ct_assets.reads.observe import latest_metadata
from sensors.delayed_labels import DELAYED_LABELS
from tests.conftest import START, Deployment


def tick(project: Deployment, name: str, cursor: str | None) -> Any:
    sensor = project.defs.get_sensor_def(name)
    context = dg.build_sensor_context(
        instance=project.instance,
        cursor=cursor,
        definitions=project.defs,
        resources={k: project.resource(k) for k in ("file_drop", "artifacts")},
    )
    return sensor.evaluate_tick(context)


def served(project: Deployment, day: int, n: int, seed: int) -> tuple[list[Prediction], list[int]]:
    """n requests of one row each on `day`: even ones answered by v1, odd ones by v2 (canary),
    each also scored in shadow by v3; and their true labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).tolist()
    moment = datetime.combine(START + timedelta(days=day), datetime.min.time(), UTC)
    rows = []
    for i, label in enumerate(labels):
        version, route = ("1", CHAMPION_ROUTE) if i % 2 == 0 else ("2", CANARY_ROUTE)
        # Informative but noisy outputs, so each version's AUC is neither 0.5 nor 1.
        output = float(np.clip(0.3 * label + rng.uniform(0, 0.7), 0, 1))
        common = (f"r{day}-{i}", 0, moment, project.partition(day))
        rows.append(Prediction(*common, version, ANSWER, route, "fs", "h", None, output))
        rows.append(Prediction(*common, "3", SHADOW, CHAMPION_ROUTE, "fs", "h", None, 1 - output))
    return rows, labels


def test_label_files_are_kept_joined_by_request_and_give_each_versions_metric(
    project: Deployment,
) -> None:
    day1, labels1 = served(project, 1, 120, seed=1)
    day2, labels2 = served(project, 2, 60, seed=2)
    write_batch(project.data_dir, day1 + day2)
    folder = project.landing / project.spec.serving.labels_folder
    folder.mkdir(parents=True)
    # Day 1's labels only, and one label for a request never logged.
    given = pd.DataFrame(
        {
            "request_id": [f"r1-{i}" for i in range(120)] + ["nobody"],
            "row": [0] * 121,
            "label": [*labels1, 1],
        }
    )
    file = folder / "labels-a.csv"
    given.to_csv(file, index=False)

    first = tick(project, "delayed_labels_sensor", None)
    (run,) = first.run_requests
    assert run.partition_key == project.partition(1)
    assert run.asset_selection == [dg.AssetKey(SERVED_PERFORMANCE)]
    assert run.tags[TRIGGER_TAG] == DELAYED_LABELS and run.tags[REASON_TAG] == "labels-a.csv"
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    assert (labels_dir(project.data_dir) / f"{sha}.csv").read_bytes() == file.read_bytes()
    assert tick(project, "delayed_labels_sensor", first.cursor).run_requests == []
    # The labels folder is not a data batch: the file-drop sensor requests nothing for it.
    assert tick(project, "file_drop_sensor", None).run_requests == []

    assert project.materialize(project.partition(1), f'key:"{SERVED_PERFORMANCE}"').success
    meta = latest_metadata(project.instance, SERVED_PERFORMANCE, project.partition(1))
    assert meta is not None and meta["labeled_rows"] == 120
    outputs = {p.request_id: p.output for p in day1 if p.role == ANSWER}
    for version, parity in (("1", 0), ("2", 1)):
        ids = [i for i in range(120) if i % 2 == parity]
        expected = roc_auc_score([labels1[i] for i in ids], [outputs[f"r1-{i}"] for i in ids])
        assert meta[f"v{version}_roc_auc"] == round(expected, 6)
        assert meta[f"v{version}_rows"] == 60
        assert meta["versions"][version] == {"rows": 60, "roc_auc": round(expected, 6)}
    # Shadow scores are logged, never answers: v3 has no served metric.
    assert "v3_rows" not in meta and "3" not in meta["versions"]

    # Day 2's labels later, as Parquet without a row column: day 2 alone is requested.
    late = pd.DataFrame({"request_id": [f"r2-{i}" for i in range(60)], "label": labels2})
    late.to_parquet(folder / "labels-b.parquet")
    second = tick(project, "delayed_labels_sensor", first.cursor)
    assert [r.partition_key for r in second.run_requests] == [project.partition(2)]


def test_a_bad_label_file_is_set_aside_with_its_reason_and_requests_nothing(
    project: Deployment,
) -> None:
    rows, _ = served(project, 1, 10, seed=3)
    write_batch(project.data_dir, rows)
    folder = project.landing / project.spec.serving.labels_folder
    folder.mkdir(parents=True)
    pd.DataFrame({"request_id": ["r1-0", "r1-1"], "outcome": [1, 0]}).to_csv(
        folder / "wrong.csv", index=False
    )
    pd.DataFrame({"request_id": ["r1-0", "r1-1"], "label": [1, "maybe"]}).to_csv(
        folder / "odd.csv", index=False
    )
    result = tick(project, "delayed_labels_sensor", None)
    assert result.run_requests == []
    rejected = labels_dir(project.data_dir) / "rejected"
    reasons = {
        json.loads(p.read_text())["file"].rsplit("/", 1)[-1]: json.loads(p.read_text())["reason"]
        for p in rejected.glob("*.reason.json")
    }
    assert "no column label" in reasons["wrong.csv"]
    assert "row 1" in reasons["odd.csv"] and "'maybe'" in reasons["odd.csv"]
    assert len(list(rejected.glob("*.csv"))) == 2
    # Nothing was kept as a label.
    assert not list(labels_dir(project.data_dir).glob("*.csv"))
