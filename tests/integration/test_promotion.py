"""Promotion as it runs: concurrent decisions, incremental chains, search trials, freshness."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from ct_assets.names import RETRAIN, STAGES, TRIGGER_TAG
from ct_assets.reads.lineage import model_lineage
from ct_assets.reads.observe import latest_metadata
from sensors.model_freshness import build_model_freshness_sensor
from tests.conftest import EAGER_GATES, REPOSITORY, deploy, shipped_instance
from tests.conftest import Deployment as Project

BEFORE_DECISION = " or ".join(f'key:"{k}"' for k in STAGES[:-1])
UP_TO_FEATURES = " or ".join(f'key:"{k}"' for k in STAGES[:3])
RETRAIN_SELECTION = " or ".join(f'key:"{k}"' for k in RETRAIN)
HOUR = 3600.0


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A project whose instance separate processes share (see `shipped_instance`)."""
    with shipped_instance(tmp_path, monkeypatch) as instance:
        yield deploy(tmp_path, instance)


def test_two_promotions_started_at_once_end_with_one_consistent_champion(
    deployed: Project,
) -> None:
    project = deployed
    project.reconfigure(EAGER_GATES)
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry = project.resource("mlflow")
    first = registry.champion_version()
    assert first is not None
    # Two days evaluated against the same champion; either would be promoted alone.
    for day in (1, 2):
        project.drop_day(day)
        assert project.materialize(project.partition(day), BEFORE_DECISION).success

    # The Dagster CLI loads the project CT_PROJECT names, with its ct.yaml (eager gates).
    env = {**os.environ, "CT_PROJECT": str(project.root)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    runs = [
        subprocess.Popen(
            [
                *(dagster, "asset", "materialize", "-m", "ct_assets.definitions"),
                *("--select", "production_model", "--partition", project.partition(day)),
            ],
            cwd=REPOSITORY,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in (1, 2)
    ]
    for run in runs:
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, output[-3000:]

    decisions = {
        day: latest_metadata(project.instance, "production_model", project.partition(day))
        for day in (1, 2)
    }
    promoted = [d for d, m in decisions.items() if m and m["decision"] == "promote"]
    assert len(promoted) == 1, decisions
    (kept,) = {1, 2} - set(promoted)
    assert decisions[kept] is not None
    assert "during evaluation" in str(decisions[kept]["reason"])
    champion = registry.champion_version()
    assert champion == decisions[promoted[0]]["champion_after"]
    moves = registry.history()
    assert [(m["from"], m["to"]) for m in moves] == [(None, first), (first, champion)]
    # The two decisions were serialised: the one that kept the champion read the alias after
    # the other had moved it (the pool does this on PostgreSQL; on SQLite two simultaneous
    # claims of its slot can both succeed, and the registry's own lock holds).
    assert decisions[kept]["champion_before"] == champion
    assert decisions[promoted[0]]["champion_before"] == first


def test_the_incremental_candidate_continues_the_champion_until_its_full_retrain(
    project: Project,
) -> None:
    project.reconfigure(
        {**EAGER_GATES, "training": {"families": ["lightgbm_incremental"], "full_retrain_every": 2}}
    )
    registry = project.resource("mlflow")
    versions = []
    for day in range(3):
        project.drop_day(day)
        assert project.materialize(project.partition(day)).success
        versions.append(registry.champion_version())
    tags = [registry.version_tags(v) for v in versions]  # type: ignore[arg-type]
    # Day 0: nothing to continue, so the family trains from scratch and roots a chain.
    assert tags[0]["ct.training_mode"] == "full" and "ct.continued_from" not in tags[0]
    # Day 1: the champion continued on day 1 alone.
    assert tags[1]["ct.training_mode"] == "incremental"
    assert tags[1]["ct.continued_from"] == versions[0]
    assert tags[1]["ct.step_partitions"] == project.partition(1)
    assert tags[1]["ct.partitions_since_full"] == "1"
    # Day 2: a second partition would reach full_retrain_every=2, so it retrains from scratch.
    assert tags[2]["ct.training_mode"] == "full" and tags[2]["ct.partitions_since_full"] == "0"
    decided = latest_metadata(project.instance, "candidate_models", project.partition(2))
    assert decided is not None and str(decided["incremental"]).startswith("full retrain due")

    _, base = registry.load(versions[0])  # type: ignore[arg-type]
    _, continued = registry.load(versions[1])  # type: ignore[arg-type]
    _, retrained = registry.load(versions[2])  # type: ignore[arg-type]
    # Day 0's model reads fewer columns than the features hold (selection left out the
    # day-constant day_of_week), and still passed the infrastructure gate through pyfunc.
    assert len(base.feature_name()) < len(project.spec.feature_names)
    assert continued.num_trees() == base.num_trees() + project.spec.training.incremental_rounds
    assert retrained.num_trees() == base.num_trees()
    features = latest_frame(project, 1)[base.feature_name()].head(100)
    np.testing.assert_allclose(
        continued.predict(features, num_iteration=base.num_trees()), base.predict(features)
    )

    # The lineage of the refreshed model reaches the batches of both days it learnt from.
    found = model_lineage(
        project.instance,
        registry,
        project.resource("batch_store"),
        versions[1],  # type: ignore[arg-type]
    )
    store = project.resource("batch_store")
    dropped = {b["batch_id"] for d in (0, 1) for b in store.batches(project.partition(d))}
    assert {b["batch_id"] for b in found["raw_batches"]} == dropped
    assert [m["version"] for m in found["trained"]] == [versions[1], versions[0]]
    assert found["partitions"][project.partition(0)]["trained_by"] == versions[0]
    assert found["partitions"][project.partition(1)]["trained_by"] == versions[1]


def latest_frame(project: Project, day: int):
    import pandas as pd

    return pd.read_parquet(project.data_dir / "features" / f"{project.partition(day)}.parquet")


def test_a_search_logs_each_trial_as_a_child_run_of_its_candidate(project: Project) -> None:
    project.reconfigure({"training": {"families": ["lightgbm"], "search": {"trials": 3}}})
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry = project.resource("mlflow")
    (version,) = [v["version"] for v in registry.versions()]
    tags = registry.version_tags(version)
    assert tags["ct.search_trials"] == "3"
    client = registry.client()
    parent = client.get_model_version(registry.registered_model, version).run_id
    children = client.search_runs(
        [registry.experiment_id()], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert len(children) == 3
    best = max(c.data.metrics["validation_roc_auc"] for c in children)
    assert float(tags["ct.search_best_value"]) == pytest.approx(best)
    for child in children:
        assert {"learning_rate", "num_leaves", "rounds"} <= set(child.data.params)
    # The candidate was trained with the best trial's parameters.
    winner = max(children, key=lambda c: c.data.metrics["validation_roc_auc"])
    logged = client.get_run(parent).data.params
    assert logged["num_leaves"] == winner.data.params["num_leaves"]
    assert logged["rounds"] == winner.data.params["rounds"]


def freshness_tick(project: Project, hours_later: float) -> dg.SensorResult:
    sensor = build_model_freshness_sensor(
        project.project, clock=lambda: time.time() + hours_later * HOUR
    )
    context = dg.build_sensor_context(instance=project.instance, definitions=project.defs)
    return sensor.evaluate_tick(context)


def test_an_overdue_production_model_requests_a_retrain(project: Project) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0), UP_TO_FEATURES).success
    # Never decided: the clock runs from the first features.
    assert freshness_tick(project, 1).run_requests == []
    (request,) = freshness_tick(project, 49).run_requests
    assert request.partition_key == project.partition(0)
    assert set(request.asset_selection or []) == {dg.AssetKey(a) for a in RETRAIN}
    assert "production_model overdue since" in request.tags[TRIGGER_TAG]

    # The retrain as the daemon would run it: a decision, so the clock starts again.
    assert project.materialize(project.partition(0), RETRAIN_SELECTION).success
    assert freshness_tick(project, 47).run_requests == []
    # A later day with features and a stale decision: the newest partition is retrained.
    project.drop_day(1)
    assert project.materialize(project.partition(1), UP_TO_FEATURES).success
    (later,) = freshness_tick(project, 49).run_requests
    assert later.partition_key == project.partition(1)
    assert later.run_key != request.run_key
    assert project.materialize(project.partition(1), RETRAIN_SELECTION).success
    assert latest_metadata(project.instance, "production_model", project.partition(1))
    assert freshness_tick(project, 47).run_requests == []
