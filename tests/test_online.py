"""Offline and online features agree; serving refuses features of another feature set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import redis

from ct_assets.definitions import build_definitions
from ct_assets.ml import features as feature_module
from ct_assets.ml.datagen import DriftingSource
from ct_assets.ml.feature_spec import FeatureSetMismatch, window_features
from ct_assets.ml.schema import ENTITY, EVENT_TIME
from ct_assets.observe import latest_metadata
from ct_assets.serving import score_entity
from ct_assets.settings import PipelineSettings
from resources.online_store import RedisOnlineStore
from resources.sources import FileDropSource
from tests.conftest import START, Project
from tests.services import REDIS_URL
from tests.test_features import assert_same, brute_force

UP_TO_ONLINE = (
    'key:"raw_batches" or key:"validated_batches" or key:"features" or key:"online_features"'
)


def offline_features(project: Project, days: range) -> pd.DataFrame:
    folder = project.settings.data_dir / "features"
    return pd.concat(
        [pd.read_parquet(folder / f"{project.partition(d)}.parquet") for d in days],
        ignore_index=True,
    )


def test_every_online_vector_equals_the_last_offline_row_of_its_entity(
    settings: PipelineSettings,
    tmp_path: Path,
    redis_stream: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"ct:test:{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("CT_ONLINE_STORE_URL", REDIS_URL)
    monkeypatch.setenv("CT_ONLINE_STORE_PREFIX", prefix)
    (tmp_path / "dagster").mkdir()
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        source = DriftingSource(start=START, rows_per_day=1500, drift_day=100)
        project = Project(settings, defs, instance, source)
        for day in range(3):
            project.drop_day(day)
            assert project.materialize(project.partition(day), UP_TO_ONLINE).success
        # Late data for day 0: its entities' newer vectors (days 1-2) must stay.
        project.drop_day(
            0,
            project.source.day(0).head(50).assign(event_id=lambda f: "late-" + f["event_id"]),
            name="late_2026-01-01.csv",
        )
        assert project.materialize(project.partition(0), UP_TO_ONLINE).success
        late = latest_metadata(instance, "online_features", project.partition(0))
        assert late is not None and late["kept_newer"] > 0

        offline = offline_features(project, range(3))
        last = offline.sort_values([ENTITY, EVENT_TIME, "event_id"]).drop_duplicates(
            ENTITY, keep="last"
        )
        store = RedisOnlineStore(url=REDIS_URL, prefix=prefix)
        client = redis.Redis.from_url(REDIS_URL)
        try:
            assert len(client.keys(f"{prefix}*")) == len(last) == offline[ENTITY].nunique()
            for row in last.to_dict("records"):
                vector = store.get(row[ENTITY])
                assert vector is not None
                assert vector.event_id == row["event_id"]
                assert vector.feature_set_id == row["feature_set_id"]
                for name in feature_module.FEATURE_COLUMNS:
                    expected, stored = row[name], vector.features[name]
                    if isinstance(expected, float) and pd.isna(expected):
                        assert pd.isna(stored), name
                    else:
                        assert stored == expected, (row[ENTITY], name, stored, expected)
        finally:
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)


def test_serving_refuses_features_of_another_feature_set(project: Project) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry, store = project.resource("mlflow"), project.resource("online_store")
    entity = str(
        pd.read_parquet(project.settings.data_dir / "features" / f"{project.partition(0)}.parquet")[
            ENTITY
        ].iloc[0]
    )
    scored = score_entity(registry, store, entity)
    assert 0.0 <= scored["score"] <= 1.0
    assert scored["feature_set_id"] == feature_module.FEATURE_SET_ID

    env = {**os.environ, "CT_HOME": str(project.settings.home)}
    ct = str(Path(sys.executable).with_name("ct"))
    shown = subprocess.run(
        [ct, "features", "get", entity, "--score"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    printed = json.loads(shown.stdout)
    assert printed["entity"] == entity and printed["champion"]["score"] == scored["score"]
    unknown = subprocess.run(
        [ct, "features", "get", "nobody"], env=env, capture_output=True, text=True
    )
    assert unknown.returncode == 1 and "no online features for entity 'nobody'" in unknown.stdout

    vector = store.get(entity)
    assert vector is not None
    store.write([replace(vector, feature_set_id="fs-000000000000")])
    with pytest.raises(FeatureSetMismatch, match="trained on feature set fs-"):
        score_entity(registry, store, entity)


def test_new_feature_definitions_are_judged_on_the_floor_not_against_the_old_champion(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    old_champion = project.resource("mlflow").champion_version()
    monkeypatch.setattr(feature_module, "FEATURE_SET_ID", "fs-redefined00")
    project.drop_day(1)
    # Day 0's features are of the old set: re-computing them keeps the window to one set.
    assert project.materialize(project.partition(0), 'key:"features"').success
    assert project.materialize(project.partition(1)).success
    decision = latest_metadata(project.instance, "production_model", project.partition(1))
    assert decision is not None
    assert f"model version {old_champion} was trained on feature set" in decision["reason"]
    assert "judged on the floor alone" in decision["reason"]


def test_windows_of_a_partition_read_the_earlier_partitions(project: Project) -> None:
    selection = 'key:"raw_batches" or key:"validated_batches" or key:"features"'
    for day in range(3):
        project.drop_day(day)
        assert project.materialize(project.partition(day), selection).success
    data = project.settings.data_dir
    validated = pd.concat(
        [
            pd.read_parquet(data / "validated_batches" / f"{project.partition(d)}.parquet")
            for d in range(3)
        ],
        ignore_index=True,
    )
    expected = window_features(validated, feature_module.SPEC)
    day2 = validated[EVENT_TIME] >= pd.Timestamp(project.partition(2), tz="UTC")
    stored = pd.read_parquet(data / "features" / f"{project.partition(2)}.parquet")
    assert len(stored) == int(day2.sum())
    merged = stored.merge(
        expected[day2].assign(event_id=validated.loc[day2, "event_id"].to_numpy()),
        on="event_id",
        suffixes=("", "_expected"),
    )
    assert len(merged) == len(stored)
    for name in feature_module.SPEC.names:
        pd.testing.assert_series_equal(merged[name], merged[f"{name}_expected"], check_names=False)
    # And against the literal definition, for a sample of entities, across the day boundaries.
    sample = sorted(validated[ENTITY].unique())[:25]
    subset = validated[validated[ENTITY].isin(sample)].reset_index(drop=True)
    reference = brute_force(subset, feature_module.SPEC)
    in_day2 = (subset[EVENT_TIME] >= pd.Timestamp(project.partition(2), tz="UTC")).to_numpy()
    assert in_day2.any()
    got = stored.set_index("event_id").loc[subset.loc[in_day2, "event_id"]]
    assert_same(
        got[list(feature_module.SPEC.names)].reset_index(drop=True),
        reference[in_day2].reset_index(drop=True),
    )
    # The 7-day windows of day 2 really reached back: some counts include days 0 and 1.
    assert (stored["amount_count_7d"] > stored["amount_count_1d"]).any()
    recorded = latest_metadata(project.instance, "features", project.partition(2))
    assert recorded is not None
    assert recorded["history_partitions"] == f"{project.partition(0)}, {project.partition(1)}"
    assert recorded["feature_set_id"] == feature_module.FEATURE_SET_ID


def test_the_offline_store_can_live_on_s3(
    settings: PipelineSettings,
    tmp_path: Path,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CT_OFFLINE_URL", "s3://ct-offline/data")
    monkeypatch.setenv("CT_S3_ENDPOINT_URL", s3_endpoint)
    fs = FileDropSource(url="s3://ct-offline", endpoint_url=s3_endpoint)._fs()[0]
    fs.mkdir("ct-offline")
    defs = build_definitions(settings)
    (tmp_path / "dagster").mkdir()
    selection = 'key:"raw_batches" or key:"validated_batches" or key:"features"'
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        source = DriftingSource(start=START, rows_per_day=600, drift_day=100)
        project = Project(settings, defs, instance, source)
        for day in range(2):
            project.drop_day(day)
            assert project.materialize(project.partition(day), selection).success
        stored = sorted(fs.find("ct-offline/data"))
        assert f"ct-offline/data/features/{project.partition(1)}.parquet" in stored
        assert not (settings.data_dir / "features").exists()
        with fs.open(f"ct-offline/data/features/{project.partition(1)}.parquet") as handle:
            day1 = pd.read_parquet(handle)
        # Day 1's 7-day windows read day 0's validated events back from S3.
        assert len(day1) == 600 and (day1["amount_count_7d"] > day1["amount_count_1d"]).any()
