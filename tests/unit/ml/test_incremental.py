"""Unit tests of ct_assets/ml/incremental.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ct_assets.ml.families.lightgbm import train_lightgbm
from ct_assets.ml.frames import BATCH, FEATURE_SET, LABEL, PARTITION
from ct_assets.ml.incremental import (
    BASE_TAG,
    INCREMENTAL,
    MODE_TAG,
    SINCE_FULL_TAG,
    plan_refresh,
    refresh,
)
from ct_assets.ml.training import training_labels
from tests.helpers.features import SHOP
from tests.helpers.incremental import INPUTS, base_of


def test_nothing_to_continue_from_is_said_plainly(days: pd.DataFrame) -> None:
    set_id = str(days[FEATURE_SET].iloc[0])
    assert plan_refresh(days, None, set_id, 7).reason == "no champion to continue from"
    linear = plan_refresh(days, base_of(days[:1000], family="sklearn_linear"), set_id, 7)
    assert not linear.refresh and "sklearn_linear, not a LightGBM booster" in linear.reason
    other_set = plan_refresh(days, base_of(days[:1000]), "fs-other", 7)
    assert not other_set.refresh and "fs-other" in other_set.reason
    seen = plan_refresh(days, base_of(days), set_id, 7)
    assert not seen.refresh and "has not seen" in seen.reason


def test_only_rows_the_champion_has_not_seen_are_new(days: pd.DataFrame) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    plan = plan_refresh(days, base_of(first), str(days[FEATURE_SET].iloc[0]), 7)
    assert plan.refresh and plan.new_partitions == ("2026-01-02", "2026-01-03")
    assert plan.new_rows is not None and int(plan.new_rows.sum()) == 2000
    assert plan.since_full == 2
    # A late batch for a day the champion saw is new too, though no partition is.
    late = pd.concat([first, first.head(50).assign(**{BATCH: "late"})], ignore_index=True)
    plan = plan_refresh(late, base_of(first), str(days[FEATURE_SET].iloc[0]), 7)
    assert plan.refresh and plan.new_partitions == ()
    assert plan.new_rows is not None and int(plan.new_rows.sum()) == 50


def test_the_chain_ends_after_full_every_partitions(days: pd.DataFrame) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    set_id = str(days[FEATURE_SET].iloc[0])
    # Already 5 partitions from its full retrain; two more would make 7.
    due = plan_refresh(days, base_of(first, **{SINCE_FULL_TAG: "5"}), set_id, 7)
    assert not due.refresh and due.reason.startswith("full retrain due")
    assert plan_refresh(days, base_of(first, **{SINCE_FULL_TAG: "4"}), set_id, 7).refresh


def test_a_refresh_continues_the_champion_s_trees_on_the_new_rows(days: pd.DataFrame) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    champion = train_lightgbm(first, first[LABEL], INPUTS).model
    plan = plan_refresh(days, base_of(first, version="4"), str(days[FEATURE_SET].iloc[0]), 7)
    refreshed = refresh(champion, days, training_labels(days), plan, rounds=20, inputs=INPUTS)
    booster = refreshed.model
    assert booster.num_trees() == champion.num_trees() + 20
    # The first trees are the champion's, unchanged.
    inputs = days[booster.feature_name()].head(200)
    np.testing.assert_allclose(
        booster.predict(inputs, num_iteration=champion.num_trees()), champion.predict(inputs)
    )
    assert not np.allclose(booster.predict(inputs), champion.predict(inputs))
    assert refreshed.tags[MODE_TAG] == INCREMENTAL and refreshed.tags[BASE_TAG] == "4"
    assert refreshed.tags["ct.step_partitions"] == "2026-01-02,2026-01-03"
    assert refreshed.tags["ct.training_partitions"] == "2026-01-01,2026-01-02,2026-01-03"
    assert refreshed.tags["ct.batch_ids"] == "b0,b1,b2"
    assert refreshed.params["new_rows"] == 2000
    assert refreshed.params["objective"] == "binary"


def test_a_refresh_reads_the_champion_s_features_whatever_this_run_selected(
    days: pd.DataFrame,
) -> None:
    first = days[days[PARTITION] == "2026-01-01"]
    kept = [f for f in SHOP.feature_names if f not in ("country", "hour")]
    champion = train_lightgbm(first, first[LABEL], INPUTS.only(kept)).model
    assert champion.feature_name() == kept
    plan = plan_refresh(days, base_of(first), str(days[FEATURE_SET].iloc[0]), 7)
    refreshed = refresh(champion, days, training_labels(days), plan, rounds=5, inputs=INPUTS)
    assert refreshed.model.feature_name() == kept
    assert refreshed.tags["ct.selected_features"] == ",".join(kept)
