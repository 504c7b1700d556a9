"""The newcomer's path on data nobody here declared: `ct init` on a sample, then daily files to a
champion, a malformed file quarantined with its reason, `ct check` and `ct status` agreeing.

Two shapes no example has: a binary label over a customer entity (the columns of the
Agrawal generator, as a user first tried it), and a regression without any entity or event id,
with times carrying an offset and a yes/no flag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from ct_assets.cli import main
from ct_assets.definitions import build_definitions
from ct_assets.ml.evaluation import metric_value
from ct_assets.ml.frames import HOLDOUT, LABEL, SPLIT, TRAIN
from ct_assets.ml.vocabulary import METRIC
from ct_assets.project.load import load_project
from ct_assets.reads.observe import latest_metadata
from tests.conftest import Deployment

START = date(2026, 3, 2)


@dataclass(frozen=True)
class Loans:
    """Agrawal's loan applications: who applies (a customer, repeatedly) and a 0/1 outcome."""

    rows: int = 2500

    def day(self, index: int) -> pd.DataFrame:
        rng = np.random.default_rng(100 + index)
        n = self.rows
        salary = rng.uniform(20_000, 150_000, n).round(2)
        age = rng.integers(20, 81, n)
        zipcode = rng.integers(0, 9, n)
        good = (
            ((age < 40) & (salary >= 50_000) & (salary <= 100_000))
            | ((age >= 40) & (age < 60) & (salary >= 75_000) & (salary <= 125_000))
            | ((age >= 60) & (salary >= 25_000) & (salary <= 75_000))
        )
        label = np.where(rng.random(n) < 0.05, ~good, good).astype(int)
        seconds = np.sort(rng.integers(0, 86_400, n))
        midnight = pd.Timestamp(START + timedelta(days=index), tz="UTC")
        return pd.DataFrame(
            {
                "event_time": (midnight + pd.to_timedelta(seconds, unit="s")).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "entity_id": [f"cust{e:04d}" for e in rng.integers(0, 600, n)],
                "salary": salary,
                "commission": np.where(salary >= 75_000, 0, rng.uniform(10_000, 75_000, n)).round(
                    2
                ),
                "age": age,
                "elevel": rng.integers(0, 5, n),
                "car": rng.integers(1, 21, n),
                "zipcode": zipcode,
                "hvalue": (rng.uniform(0.5, 1.5, n) * (9 - zipcode) * 100_000).round(0),
                "hyears": rng.integers(1, 31, n),
                "loan": rng.uniform(0, 500_000, n).round(2),
                "label": label,
            }
        )


@dataclass(frozen=True)
class Houses:
    """House sales: no one recurs, no id; times with an offset; a yes/no flag; a price; column
    names as spreadsheets write them (spaces, brackets: LightGBM refuses or rewrites those)."""

    rows: int = 2500

    def day(self, index: int) -> pd.DataFrame:
        rng = np.random.default_rng(200 + index)
        n = self.rows
        sqft = rng.uniform(400, 4000, n).round(0)
        rooms = rng.integers(1, 8, n)
        district = rng.choice(["north", "south", "east", "west", "centre"], n)
        garage = rng.random(n) < 0.4
        built = rng.integers(1920, 2025, n)
        premium = pd.Series(district).map(
            {"north": 1.0, "south": 0.8, "east": 0.9, "west": 1.1, "centre": 1.5}
        )
        price = (
            premium.to_numpy() * (150 * sqft + 8_000 * rooms + 20_000 * garage)
            - 300 * (2025 - built)
            + rng.normal(0, 15_000, n)
        ).round(0)
        # Paris is an hour ahead of UTC in March: from 01:00 on, a Paris day is one UTC day.
        seconds = np.sort(rng.integers(3_600, 86_400, n))
        midnight = pd.Timestamp(START + timedelta(days=index), tz="Europe/Paris")
        return pd.DataFrame(
            {
                "sold_at": (midnight + pd.to_timedelta(seconds, unit="s")).strftime(
                    "%Y-%m-%d %H:%M:%S%z"
                ),
                "Living area [sqft]": sqft,
                "rooms": rooms,
                "district": district,
                "garage": np.where(garage, "yes", "no"),
                "Year Built": built,
                "price": price,
            }
        )


CASES = {
    # (data, label, a broken export and the column its reason must name, expected task)
    "loans": (Loans(), "label", ("salary", "12.500,00"), "binary"),
    "houses": (Houses(), "price", ("Living area [sqft]", "about 900"), "regression"),
}


def day_file(folder: Path, name: str, frame: pd.DataFrame, index: int) -> Path:
    path = folder / f"{name}_{(START + timedelta(days=index)).isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def bare_lightgbm(window: pd.DataFrame, spec) -> float:
    train, holdout = window[window[SPLIT] == TRAIN], window[window[SPLIT] == HOLDOUT]
    features = list(spec.feature_names)
    # Arrays, as a script would pass them when the column names are not LightGBM's to keep.
    categorical = [features.index(c) for c in spec.categorical_inputs]
    booster = lgb.train(
        {"objective": spec.task.type, "verbose": -1, "num_threads": 1},
        lgb.Dataset(train[features].to_numpy(float), train[LABEL], categorical_feature=categorical),
    )
    predicted = booster.predict(holdout[features].to_numpy(float))
    value = metric_value(spec.metric, holdout[LABEL].to_numpy(), predicted)
    assert value is not None
    return value


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_newcomer_s_csv_goes_from_init_to_a_champion(
    case: str,
    tmp_path: Path,
    dagster_instance,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, label, (broken_column, broken_value), task = CASES[case]
    exports = tmp_path / "exports"
    sample = day_file(exports, case, data.day(0), 0)
    root = tmp_path / "proj"
    assert main(["init", "--from", str(sample), "--label", label, "--out", str(root)]) == 0
    printed = capsys.readouterr().out
    assert f"{task}" in printed and "review" in printed
    project = load_project(root, environ={})
    spec = project.spec
    assert spec.task.type == task and spec.dataset.label == label
    assert spec.partitions.start == START.isoformat()
    if case == "loans":
        assert spec.dataset.entity == "entity_id" and spec.window_features
    else:
        assert spec.dataset.entity is None and spec.dataset.event_id is None
        assert spec.column("garage").type == "bool"

    # A broken export of day 1, and `ct check` judging it as the quarantine will.
    broken = data.day(1).head(200).astype({broken_column: object})
    broken.loc[::7, broken_column] = broken_value
    bad = day_file(exports / "bad", f"{case}_late_export", broken, 1)
    good = day_file(exports, case, data.day(1), 1)
    assert main(["check", "--project", str(root), str(good)]) == 0
    assert main(["check", "--project", str(root), str(bad)]) == 1
    checked = capsys.readouterr().out
    assert f"column {broken_column!r} wrong_type" in checked
    assert "in 29 rows at lines 2, 9, 16" in checked
    assert "above quality.max_bad_row_share" in checked
    # One broken value in 200: that row is set aside, named with its line, and the file passes.
    stray = data.day(1).head(200).astype({broken_column: object})
    stray.loc[5, broken_column] = broken_value
    one = day_file(exports / "one", f"{case}_stray", stray, 1)
    assert main(["check", "--project", str(root), str(one)]) == 0
    checked = capsys.readouterr().out
    assert "ok, 199 rows; 1 of 200 set aside (wrong_type)" in checked
    assert f"column {broken_column!r} wrong_type" in checked and "at line 7" in checked

    deployment = Deployment(project, build_definitions(project), dagster_instance, data)
    for index in range(3):
        frame = data.day(index)
        day_file(project.landing_dir, case, frame, index)
        if index == 1:
            day_file(project.landing_dir, f"{case}_late_export", broken, 1)
        result = deployment.materialize(deployment_partition(index))
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    registry = deployment.resource("mlflow")
    champion = registry.champion_version()
    assert champion is not None
    first = latest_metadata(dagster_instance, "production_model", deployment_partition(0))
    assert first is not None and first["decision"] == "promote"

    (held,) = deployment.resource("batch_store").quarantined(deployment_partition(1))
    assert held["rules"] == ["wrong_type"] and f"column {broken_column!r}" in held["reason"]
    validated = latest_metadata(dagster_instance, "validated_batches", deployment_partition(1))
    assert validated is not None and validated["dagster/row_count"] == data.rows

    # The champion's holdout metric is about what a bare LightGBM script gets on the split.
    last = deployment_partition(2)
    window = pd.read_parquet(project.data_dir / "training_window" / f"{last}.parquet")
    evaluation = json.loads((project.data_dir / "model_evaluations" / f"{last}.json").read_text())
    values = {c["version"]: c["metrics"][spec.metric] for c in evaluation["candidates"]}
    if evaluation["champion"]:
        values[evaluation["champion"]["version"]] = evaluation["champion"]["metrics"][spec.metric]
    ours, theirs = values[champion], bare_lightgbm(window, spec)
    assert METRIC[spec.metric].improvement(ours, theirs) >= -0.05 * abs(theirs), (ours, theirs)

    # `ct status` reads the instance the runs wrote to (the test's, named as DAGSTER_HOME).
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert main(["status", "--project", str(root), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["champion"] == champion and status["task"] == task
    rows = {r["partition"]: r for r in status["partitions"]}
    assert rows[deployment_partition(1)]["quarantined"][0]["rules"] == ["wrong_type"]
    assert rows[last][f"champion_{spec.metric}"] is not None


def deployment_partition(index: int) -> str:
    return (START + timedelta(days=index)).isoformat()
