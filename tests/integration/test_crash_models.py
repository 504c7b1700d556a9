"""Crash consistency of the model write points: a real run killed by SIGKILL at a named moment
(`ct_assets.crash`), then retried the way Dagster's run retries would, on a real instance and a
real MLflow registry.

The invariants: no half-registered version is ever promoted or served; every partition is
decided once (one history record per promotion); the champion is always a gated version; the
alias and the history agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ct_assets.crash import CRASH_AT
from ct_assets.names import CANDIDATE_MODELS, MODEL_EVALUATIONS, PRODUCTION_MODEL, STAGES
from ct_assets.reads.observe import latest_metadata
from resources.mlflow_registry import (
    CHALLENGER,
    IncompleteVersion,
    MlflowRegistry,
    registration_complete,
)
from tests.conftest import EAGER_GATES, REPOSITORY, Deployment, deploy, shipped_instance

# One family on one window: a candidate run is a single small LightGBM; gates that promote any
# candidate above the floor, so every decision here moves the alias (a serving budget no busy
# test machine misses: these tests are about crashes, not latency).
FAST = {
    "gates": {**EAGER_GATES["gates"], "serving": {"latency_ms_p95": 10_000}},
    "training": {"families": ["lightgbm"], "windows": [3]},
}
UP_TO_WINDOW = " or ".join(f'key:"{k}"' for k in STAGES[:4])
MOMENT_TIMEOUT = 300


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    with shipped_instance(tmp_path, monkeypatch) as instance:
        project = deploy(tmp_path, instance, rows_per_day=800)
        project.reconfigure(FAST)
        yield project


def killed_at(project: Deployment, asset: str, partition: str, point: str) -> None:
    """Materialize `asset` in its own process, as a run worker would, and have it SIGKILLed at
    `point`; then mark the run failed and free its pool slot, as run monitoring does before
    the retry."""
    env = {**os.environ, "CT_PROJECT": str(project.root), CRASH_AT: point}
    dagster = str(Path(sys.executable).with_name("dagster"))
    run = subprocess.run(
        [
            *(dagster, "asset", "materialize", "-m", "ct_assets.definitions"),
            *("--select", asset, "--partition", partition),
        ],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=MOMENT_TIMEOUT,
    )
    assert run.returncode == -9, (point, run.stdout[-2000:], run.stderr[-3000:])
    instance = project.instance
    for dead in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        instance.report_run_failed(dead)
        instance.event_log_storage.free_concurrency_slots_for_run(dead.run_id)


def retried(project: Deployment, partition: str, *assets: str) -> dict[str, Any]:
    """The same materialization again, as the retry runs it; the last asset's metadata."""
    result = project.materialize(partition, " or ".join(f'key:"{a}"' for a in assets))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    found = latest_metadata(project.instance, assets[-1], partition)
    assert found is not None
    return found


def versions_of(registry: MlflowRegistry, partition: str) -> dict[str, bool]:
    """Version -> whether its registration completed, for one partition's candidates."""
    found = registry.client().search_model_versions(f"name = '{registry.registered_model}'")
    return {
        str(v.version): registration_complete(dict(v.tags))
        for v in found
        if v.tags.get("ct.partition") == partition
    }


def assert_consistent(registry: MlflowRegistry) -> None:
    """The champion is the last recorded move, a complete version every gate passed, and no
    partition's decision is recorded twice."""
    moves = registry.history()
    champion = registry.champion_version()
    assert champion == moves[-1]["to"]
    assert registry.is_complete(champion)
    assert registry.version_tags(champion)["ct.promoted_at"] == moves[-1]["at"]
    decided = [m["partition"] for m in moves if m.get("partition")]
    assert len(decided) == len(set(decided)), moves
    for move in moves:
        assert move["gates"] and all(g["passed"] for g in move["gates"].values()), move


@pytest.mark.integration
def test_a_candidate_killed_while_registering_is_registered_once_and_never_served(
    deployed: Deployment,
) -> None:
    """A candidate run killed after logging its model, its retry killed after registering the
    version, that retry's retry killed after marking a version complete: the last retry hands
    on the complete version and registers nothing more (one complete version for the
    partition); the version left pending is never promoted, served in shadow or evaluated."""
    project = deployed
    registry = project.resource("mlflow")
    partition = project.partition(0)
    project.drop_day(0)
    assert project.materialize(partition, UP_TO_WINDOW).success

    killed_at(project, CANDIDATE_MODELS, partition, "registry.model.logged")
    assert versions_of(registry, partition) == {}
    killed_at(project, CANDIDATE_MODELS, partition, "registry.version.registered")
    (pending,) = versions_of(registry, partition)
    killed_at(project, CANDIDATE_MODELS, partition, "registry.version.tagged")
    (complete,) = set(versions_of(registry, partition)) - {pending}
    assert versions_of(registry, partition) == {pending: False, complete: True}

    candidates = retried(project, partition, CANDIDATE_MODELS)
    assert candidates["model_versions"] == complete and candidates["version_reused"] is True
    assert versions_of(registry, partition) == {pending: False, complete: True}
    # The pending version can be named, never served.
    with pytest.raises(IncompleteVersion):
        registry.promote(pending, None, "by hand")
    with pytest.raises(IncompleteVersion):
        registry.set_alias(CHALLENGER, pending)
    assert registry.history() == []
    decided = retried(project, partition, MODEL_EVALUATIONS, PRODUCTION_MODEL)
    assert decided["decision"] == "promote" and decided["champion_after"] == complete
    assert registry.alias_version(CHALLENGER) is None
    assert_consistent(registry)


@pytest.mark.integration
def test_a_decision_killed_around_its_alias_move_is_taken_once(deployed: Deployment) -> None:
    """Killed after recording its promotion but before moving the alias, or after moving it but
    before Dagster recorded the decision, a decision's retry applies or finds its own move:
    one history record for the partition, the alias where the history says, the champion a
    gated version throughout; a repeat of the decision moves nothing again."""
    project = deployed
    registry = project.resource("mlflow")
    before_decision = " or ".join(f'key:"{k}"' for k in STAGES[:-1])
    champions: list[str | None] = [None]
    for day, point in enumerate(("promotion.history.recorded", "promotion.alias.moved")):
        partition = project.partition(day)
        project.drop_day(day)
        assert project.materialize(partition, before_decision).success
        killed_at(project, PRODUCTION_MODEL, partition, point)
        moves = registry.history()
        candidate = moves[-1]["to"]
        assert moves[-1]["partition"] == partition and moves[-1]["from"] == champions[-1]
        # While the run is dead, serving reads a gated version: the old one (none on the first
        # day) until the alias moved, the new one (its record already written) after.
        served = registry.champion_version()
        assert served == (champions[-1] if point == "promotion.history.recorded" else candidate)

        decided = retried(project, partition, PRODUCTION_MODEL)
        assert decided["decision"] == "promote"
        assert str(decided["reason"]).startswith("already decided at")
        assert decided["champion_before"] == (champions[-1] or "none")
        assert decided["champion_after"] == candidate == registry.champion_version()
        assert [m["partition"] for m in registry.history()] == [
            project.partition(d) for d in range(day + 1)
        ]
        assert_consistent(registry)
        champions.append(candidate)

    # A repeat of a decision already taken (a second retry, a re-materialization) reports it.
    again = retried(project, project.partition(1), PRODUCTION_MODEL)
    assert again["decision"] == "promote" and again["champion_after"] == champions[-1]
    assert len(registry.history()) == 2
    assert_consistent(registry)


def test_the_next_holder_of_the_alias_lock_applies_a_move_recorded_but_not_applied(
    project: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A move whose process died between its history record and the alias is carried out by
    whoever takes the alias lock next (a decision, a rollback); an alias moved outside ct (in
    the MLflow UI) is not moved back."""
    import resources.mlflow_registry as registry_module

    registry = project.resource("mlflow")
    client = registry.client()
    client.create_registered_model(registry.registered_model)
    for _ in range(3):
        client.create_model_version(
            registry.registered_model, source=f"{registry.artifact_root}/none"
        )
    registry.promote("1", None, "first")

    class Died(Exception):
        pass

    def dies_after_recording(name: str) -> None:
        if name == "promotion.history.recorded":
            raise Died(name)

    monkeypatch.setattr(registry_module, "crash_point", dies_after_recording)
    with pytest.raises(Died):
        registry.promote("2", "1", "second")
    monkeypatch.undo()
    assert registry.champion_version() == "1" and registry.history()[-1]["to"] == "2"
    with registry.alias_lock():
        assert registry.champion_version() == "2"
    assert registry.version_tags("2")["ct.promoted_at"] == registry.history()[-1]["at"]

    client.set_registered_model_alias(registry.registered_model, "champion", "3")
    with registry.alias_lock():
        assert registry.champion_version() == "3"
    assert len(registry.history()) == 2
