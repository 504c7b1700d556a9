"""Both examples end to end through the same code: landing -> validated -> features ->
candidates -> champion, a malformed file quarantined in each, and the champion's holdout metric
as good as a bare LightGBM script gets on the same split."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.evaluation import metric_value
from ct_assets.ml.frames import HOLDOUT, LABEL, SPLIT, TRAIN
from ct_assets.ml.vocabulary import METRIC
from ct_assets.reads.observe import latest_check, latest_check_passed, latest_metadata
from ct_assets.reads.status import project_status
from tests.conftest import Deployment, deploy

# Per example: a corruption of its generator, and the column the refusal must name.
BROKEN = {"shop": ("wrong_type", "amount"), "energy": ("wrong_type", "timestamp")}


def bare_lightgbm(window: pd.DataFrame, deployment: Deployment) -> float:
    """What a user's own script gets: LightGBM's defaults on the same rows and columns."""
    spec = deployment.spec
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    features = list(spec.feature_names)
    objective = "binary" if spec.task.type == "binary" else "regression"
    booster = lgb.train(
        {"objective": objective, "verbose": -1, "num_threads": 1},
        lgb.Dataset(
            train[features], train[LABEL], categorical_feature=list(spec.categorical_inputs)
        ),
    )
    value = metric_value(spec.metric, holdout[LABEL].to_numpy(), booster.predict(holdout[features]))
    assert value is not None
    return value


@pytest.mark.parametrize("example", ["shop", "energy"])
def test_an_example_goes_from_files_to_a_champion_and_refuses_a_broken_file(
    example: str, tmp_path, dagster_instance
) -> None:
    deployment = deploy(tmp_path, dagster_instance, example, rows_per_day=2000)
    spec, metric = deployment.spec, deployment.spec.metric
    kind, column = BROKEN[example]
    for day in range(3):
        deployment.drop_day(day)
        if day == 1:
            broken = deployment.module.corrupt(deployment.source.day(day).head(300), kind)
            deployment.drop_day(day, broken, name=f"late_export_{deployment.partition(day)}.csv")
        result = deployment.materialize(deployment.partition(day))
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    registry = deployment.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    assert registry.registered_model == spec.name

    # Day 1: the broken file is in quarantine naming its column; the good one went on.
    day1 = deployment.partition(1)
    (held,) = deployment.resource("batch_store").quarantined(day1)
    assert held["file"] == f"late_export_{day1}.csv" and held["rules"] == ["wrong_type"]
    assert f"column {column!r} wrong_type" in held["reason"]
    validated = latest_metadata(deployment.instance, "validated_batches", day1)
    assert validated is not None and validated["dagster/row_count"] == 2000
    assert (
        latest_check_passed(deployment.instance, "validated_batches", "events_match_schema", day1)
        is False
    )
    assert latest_metadata(deployment.instance, "production_model", day1) is not None

    # The champion is as good on the holdout as a bare LightGBM script on the same split.
    last = deployment.partition(2)
    window = pd.read_parquet(deployment.data_dir / "training_window" / f"{last}.parquet")
    evaluation = json.loads(
        (deployment.data_dir / "model_evaluations" / f"{last}.json").read_text()
    )
    scored = {c["version"]: c["metrics"][metric] for c in evaluation["candidates"]}
    if evaluation["champion"]:
        scored[evaluation["champion"]["version"]] = evaluation["champion"]["metrics"][metric]
    ours, theirs = scored[champion], bare_lightgbm(window, deployment)
    better = METRIC[metric].improvement(ours, theirs)
    assert better >= -0.05 * abs(theirs), (metric, ours, theirs)

    rows = {
        r["partition"]: r
        for r in project_status(
            deployment.instance, spec, deployment.resource("batch_store").all_quarantined()
        )
    }
    assert set(rows) == {deployment.partition(d) for d in range(3)}
    assert rows[day1]["quarantined"][0]["rules"] == ["wrong_type"]
    assert rows[last]["champion"] == champion and rows[last][f"champion_{metric}"] is not None


def test_regression_margin_promotes_a_lower_rmse_and_refuses_a_worse_one(
    tmp_path, dagster_instance
) -> None:
    # The load's relationship shifts on day 1: day 0's champion is wrong about day 1.
    energy = deploy(tmp_path, dagster_instance, "energy", rows_per_day=2000, drift_day=1)
    registry = energy.resource("mlflow")
    energy.drop_day(0)
    assert energy.materialize(energy.partition(0)).success
    first = registry.champion_version()
    assert first is not None
    energy.drop_day(1)
    assert energy.materialize(energy.partition(1)).success
    promoted = latest_metadata(energy.instance, "production_model", energy.partition(1))
    assert promoted is not None and promoted["decision"] == "promote", promoted
    assert promoted["candidate_rmse"] < promoted["champion_rmse"]
    assert "RMSE" in promoted["reason"] and "lower is better" in promoted["reason"]
    assert "1% of the champion's" in promoted["reason"]
    second = registry.champion_version()
    assert second != first

    # A challenger of shuffled labels has a higher RMSE: the margin gate refuses it.
    result = energy.materialize(
        energy.partition(1),
        'key:"candidate_models" or key:"model_evaluations" or key:"production_model"',
        ops={"candidate_models": {"config": {"permute_labels_seed": 4}}},
    )
    assert result.success
    refused = latest_metadata(energy.instance, "production_model", energy.partition(1))
    assert refused is not None and refused["decision"] == "keep champion"
    assert refused["candidate_rmse"] > refused["champion_rmse"]
    margin = latest_check(energy.instance, "production_model", "margin_gate", energy.partition(1))
    assert margin is not None and margin["passed"] is False
    assert "lower is better" in margin["description"]
    assert "lower bound < margin" in margin["description"]
    assert registry.champion_version() == second
    # The model is a regressor: its predictions are values on the label's scale, not classes.
    _, model = registry.load(second)
    frame = pd.read_parquet(energy.data_dir / "features" / f"{energy.partition(1)}.parquet")
    from ct_assets.ml.training import predict

    family = registry.version_tags(second)["ct.family"]
    values = predict(family, model, frame)
    assert np.unique(values).size > 50 and 10 < values.mean() < 500
