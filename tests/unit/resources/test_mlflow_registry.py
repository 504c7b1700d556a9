"""Unit tests of resources/mlflow_registry.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from resources.mlflow_registry import (
    candidate_key,
)


def test_a_candidate_key_names_the_training_not_the_run() -> None:
    """Two trainings of the same candidate (a retry: another Dagster run, another search
    outcome) share a key; another partition, window or training data does not."""
    tags = {"ct.partition": "2026-01-03", "ct.window": "last 3", "ct.batch_ids": "a,b,c"}
    retry = {**tags, "ct.dagster_run_id": "r2", "ct.search_trials": "7"}
    assert candidate_key({**tags, "ct.dagster_run_id": "r1"}) == candidate_key(retry)
    for key, other in (("ct.partition", "2026-01-04"), ("ct.batch_ids", "a,b,d")):
        assert candidate_key(tags) != candidate_key({**tags, key: other})
