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

from ct_assets.cli import main
from ct_assets.ml.feature_spec import FeatureSetMismatch, window_features, window_spec
from ct_assets.ml.features import feature_set_id
from ct_assets.ml.frames import ENTITY, FEATURE_SET, ROW_ID, TIME
from ct_assets.ml.online import latest_vectors, vector_frame
from ct_assets.reads.observe import latest_metadata
from ct_assets.reads.serving import score_entity
from resources.online_store import RedisOnlineStore
from tests.conftest import Deployment, deploy
from tests.helpers.features import assert_same, brute_force
from tests.services import REDIS_URL

UP_TO_ONLINE = (
    'key:"raw_batches" or key:"validated_batches" or key:"features" or key:"online_features"'
)
UP_TO_FEATURES = 'key:"raw_batches" or key:"validated_batches" or key:"features"'


def offline_features(project: Deployment, days: range) -> pd.DataFrame:
    folder = project.data_dir / "features"
    return pd.concat(
        [pd.read_parquet(folder / f"{project.partition(d)}.parquet") for d in days],
        ignore_index=True,
    )


def canonical(validated: pd.DataFrame, project: Deployment) -> pd.DataFrame:
    """Validated events under the names window features read (the row id is there already)."""
    roles = project.spec.dataset
    return validated.rename(columns={roles.entity: ENTITY, roles.time: TIME}).assign(
        **{ENTITY: lambda f: f[ENTITY].astype(str)}
    )


def cli_environment() -> dict[str, str]:
    """The caller's environment, less anything that would point ct at another project or
    store than the one named by --project."""
    dropped = ("CT_HOME", "CT_PROJECT", "CT_ONLINE_STORE_URL", "CT_ONLINE_STORE_PREFIX")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def test_every_online_vector_equals_the_last_offline_row_of_its_entity(
    tmp_path: Path,
    dagster_instance: dg.DagsterInstance,
    redis_stream: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"ct:test:{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("CT_ONLINE_STORE_URL", REDIS_URL)
    monkeypatch.setenv("CT_ONLINE_STORE_PREFIX", prefix)
    project = deploy(tmp_path, dagster_instance)
    assert isinstance(project.resource("online_store"), RedisOnlineStore)
    spec = project.spec
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
    late = latest_metadata(dagster_instance, "online_features", project.partition(0))
    assert late is not None and late["kept_newer"] > 0

    offline = offline_features(project, range(3))
    last = offline.sort_values([ENTITY, TIME, ROW_ID]).drop_duplicates(ENTITY, keep="last")
    store = RedisOnlineStore(url=REDIS_URL, prefix=prefix)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert len(client.keys(f"{prefix}*")) == len(last) == offline[ENTITY].nunique()
        for row in last.to_dict("records"):
            vector = store.get(row[ENTITY])
            assert vector is not None
            assert vector.event_id == row[ROW_ID]
            assert vector.feature_set_id == row[FEATURE_SET]
            for name in spec.feature_names:
                expected, stored = row[name], vector.features[name]
                if isinstance(expected, float) and pd.isna(expected):
                    assert pd.isna(stored), name
                else:
                    assert stored == expected, (row[ENTITY], name, stored, expected)
            # A stored vector reads back as the model-input row the offline features hold.
            frame = vector_frame(vector, spec)
            assert list(frame.columns) == list(spec.feature_names)
            pd.testing.assert_frame_equal(
                frame,
                pd.DataFrame([row])[list(spec.feature_names)].astype(frame.dtypes.to_dict()),
            )
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_latest_vectors_are_the_last_row_of_each_entity_by_time_then_row_id(
    project: Deployment,
) -> None:
    spec = project.spec
    project.drop_day(0)
    assert project.materialize(project.partition(0), UP_TO_FEATURES).success
    features = offline_features(project, range(1))
    entity = features[ENTITY].iloc[0]
    own = features[features[ENTITY] == entity].sort_values(TIME)
    vectors = {v.entity: v for v in latest_vectors(features.sample(frac=1, random_state=0), spec)}
    assert len(vectors) == features[ENTITY].nunique()
    assert vectors[entity].event_id == own[ROW_ID].iloc[-1]
    assert vectors[entity].event_time == own[TIME].iloc[-1].to_pydatetime()
    assert set(vectors[entity].features) == set(spec.feature_names)
    # Two rows of one entity at the same time: the larger row id is the later; an earlier row
    # with a larger id is not.
    tie = own.tail(1).assign(**{ROW_ID: "zzz-last"})
    early = own.head(1).assign(
        **{ROW_ID: "zzzz-early", TIME: own[TIME].iloc[0] - pd.Timedelta(1, "s")}
    )
    vectors = {v.entity: v for v in latest_vectors(pd.concat([features, tie, early]), spec)}
    assert vectors[entity].event_id == "zzz-last"


def test_serving_refuses_features_of_another_feature_set(project: Deployment) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    registry, store = project.resource("mlflow"), project.resource("online_store")
    entity = str(
        pd.read_parquet(project.data_dir / "features" / f"{project.partition(0)}.parquet")[
            ENTITY
        ].iloc[0]
    )
    scored = score_entity(registry, store, entity, project.spec)
    assert 0.0 <= scored["score"] <= 1.0
    assert scored["feature_set_id"] == feature_set_id(project.spec)

    env = cli_environment()
    ct = str(Path(sys.executable).with_name("ct"))
    root = str(project.root)
    shown = subprocess.run(
        [ct, "features", "--project", root, "get", entity, "--score"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    printed = json.loads(shown.stdout)
    assert printed["entity"] == entity and printed["champion"]["score"] == scored["score"]
    unknown = subprocess.run(
        [ct, "features", "--project", root, "get", "nobody"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 1 and "no online features for entity 'nobody'" in unknown.stdout

    vector = store.get(entity)
    assert vector is not None
    store.write([replace(vector, feature_set_id="fs-000000000000")])
    with pytest.raises(FeatureSetMismatch, match="trained on feature set fs-"):
        score_entity(registry, store, entity, project.spec)


def test_new_feature_definitions_are_judged_on_the_floor_not_against_the_old_champion(
    project: Deployment,
) -> None:
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    old_champion = project.resource("mlflow").champion_version()
    old_set = feature_set_id(project.spec)
    # New definitions declared in ct.yaml: ties now count as "before".
    project.reconfigure({"features": {"windows": {"inclusive": True}}})
    assert feature_set_id(project.spec) != old_set
    project.drop_day(1)
    # Day 0's features are of the old set: re-computing them keeps the window to one set.
    assert project.materialize(project.partition(0), 'key:"features"').success
    assert project.materialize(project.partition(1)).success
    decision = latest_metadata(project.instance, "production_model", project.partition(1))
    assert decision is not None
    assert f"model version {old_champion} was trained on feature set" in decision["reason"]
    assert "judged on the floor alone" in decision["reason"]


def test_windows_of_a_partition_read_the_earlier_partitions(project: Deployment) -> None:
    for day in range(3):
        project.drop_day(day)
        assert project.materialize(project.partition(day), UP_TO_FEATURES).success
    data, windows = project.data_dir, window_spec(project.spec)
    validated = canonical(
        pd.concat(
            [
                pd.read_parquet(data / "validated_batches" / f"{project.partition(d)}.parquet")
                for d in range(3)
            ],
            ignore_index=True,
        ),
        project,
    )
    expected = window_features(validated, windows)
    day2 = validated[TIME] >= pd.Timestamp(project.partition(2), tz="UTC")
    stored = pd.read_parquet(data / "features" / f"{project.partition(2)}.parquet")
    assert len(stored) == int(day2.sum())
    merged = stored.merge(
        expected[day2].assign(**{ROW_ID: validated.loc[day2, ROW_ID].to_numpy()}),
        on=ROW_ID,
        suffixes=("", "_expected"),
    )
    assert len(merged) == len(stored)
    for name in windows.names:
        pd.testing.assert_series_equal(merged[name], merged[f"{name}_expected"], check_names=False)
    # And against the literal definition, for a sample of entities, across the day boundaries.
    sample = sorted(validated[ENTITY].unique())[:25]
    subset = validated[validated[ENTITY].isin(sample)].reset_index(drop=True)
    reference = brute_force(subset, windows)
    in_day2 = (subset[TIME] >= pd.Timestamp(project.partition(2), tz="UTC")).to_numpy()
    assert in_day2.any()
    got = stored.set_index(ROW_ID).loc[subset.loc[in_day2, ROW_ID]]
    assert_same(
        got[list(windows.names)].reset_index(drop=True),
        reference[in_day2].reset_index(drop=True),
    )
    # The 7-day windows of day 2 really reached back: some counts include days 0 and 1.
    assert (stored["amount_count_7d"] > stored["amount_count_1d"]).any()
    recorded = latest_metadata(project.instance, "features", project.partition(2))
    assert recorded is not None
    assert recorded["history_partitions"] == f"{project.partition(0)}, {project.partition(1)}"
    assert recorded["feature_set_id"] == feature_set_id(project.spec)


# -- a dataset without an entity: no history to look up, so no online store ----------------------


def test_without_an_entity_there_is_no_online_features_asset_and_ct_says_so(
    energy: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {key.to_user_string() for key in energy.defs.resolve_asset_graph().get_all_asset_keys()}
    assert "features" in keys and "online_features" not in keys
    energy.drop_day(0)
    assert energy.materialize(energy.partition(0), UP_TO_FEATURES).success
    features = pd.read_parquet(energy.data_dir / "features" / f"{energy.partition(0)}.parquet")
    assert ENTITY not in features.columns
    assert list(features[list(energy.spec.feature_names)].columns) == list(
        energy.spec.feature_names
    )
    recorded = latest_metadata(energy.instance, "features", energy.partition(0))
    assert recorded is not None and recorded["history_partitions"] == "none"
    assert recorded["feature_set_id"] == feature_set_id(energy.spec)
    assert main(["features", "--project", str(energy.root), "get", "anyone"]) == 1
    assert "declares no entity: there is no online store" in capsys.readouterr().out
