"""The MLflow tags ct writes are typed records (ct_assets.ml.tags): tags as the release before the
records wrote them still read, and the records write the same keys and text, so a model
registered then stays readable and a retried candidate still finds its version by its key."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ct_assets.ml import tags as model_tags
from ct_assets.ml.candidates import training_tags
from ct_assets.ml.frames import BATCH, FEATURE_SET, LABEL, PARTITION
from ct_assets.ml.tags import (
    Chain,
    EvaluationRun,
    ModelLineage,
    Promotion,
    Provenance,
    Registration,
    Search,
    Trial,
    history_moves,
    history_tag,
)
from resources.mlflow_registry import candidate_key
from tests.conftest import REPOSITORY

# A full retrain's version, every tag as ct wrote it before the records (candidates'
# training_tags and register, the LightGBM search, log_candidate and a promotion).
FULL_VERSION = {
    "ct.project": "shop",
    "ct.task": "binary",
    "ct.metric": "roc_auc",
    "ct.partition": "2026-01-03",
    "ct.training_partitions": "2026-01-01,2026-01-02,2026-01-03",
    "ct.batch_ids": "b0,b1,b2",
    "ct.window": "newest_3",
    "ct.train_rows": "1500",
    "ct.features": "amount,country,hour",
    "ct.feature_set_id": "fs-1",
    "ct.code_version": "5",
    "ct.dagster_run_id": "run-1",
    "ct.train_label_mean": "0.123457",
    "ct.train_label_std": "0.32",
    "ct.training_mode": "full",
    "ct.partitions_since_full": "0",
    "ct.selected_features": "hour,amount",
    "ct.split_strategy": "random",
    "ct.split_warnings": "time leakage: 40% | entity overlap: 3 entities",
    "ct.forced_features": "amount,hour",
    "ct.permuted_labels_seed": "7",
    "ct.search_trials": "3",
    "ct.search_best_value": "0.8123456789",
    "ct.family": "lightgbm",
    "ct.candidate_key": "0123456789abcdef0123456789abcdef",
    "ct.registration": "complete",
    "ct.promotion_reason": "all gates passed",
    "ct.previous_champion": "",
    "ct.promoted_at": "2026-01-04T01:02:03.000004+00:00",
}

# An incremental refresh of v4, as `refresh` wrote it (merged over the window's tags).
REFRESH = {
    "ct.training_mode": "incremental",
    "ct.continued_from": "4",
    "ct.partitions_since_full": "2",
    "ct.step_partitions": "2026-01-04,2026-01-05",
    "ct.step_batch_ids": "b3,b4",
    "ct.selected_features": "hour,amount,country",
    "ct.train_rows": "400",
    "ct.training_partitions": "2026-01-01,2026-01-02,2026-01-03,2026-01-04,2026-01-05",
    "ct.batch_ids": "b0,b1,b2,b3,b4",
}

# The demo's forced model: one partition, no batch, no run.
FORCED = {
    "ct.partition": "2026-01-02",
    "ct.training_partitions": "2026-01-02",
    "ct.batch_ids": "",
    "ct.feature_set_id": "fs-1",
    "ct.forced": "trained on shuffled labels by the demo's operator",
}

# An evaluation's run, with no champion yet.
EVALUATION = {
    "ct.partition": "2026-01-03",
    "ct.dagster_run_id": "run-2",
    "ct.candidate_versions": "5",
    "ct.champion_version": "",
    "ct.holdout_rows": "300",
    "ct.metric": "roc_auc",
}


def test_tags_written_by_the_release_before_the_records_read_as_typed_records() -> None:
    learnt = ModelLineage.of(FULL_VERSION)
    assert learnt.partition == "2026-01-03"
    assert learnt.training_partitions == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert learnt.batch_ids == ["b0", "b1", "b2"]
    made = Provenance.of(FULL_VERSION)
    assert made.train_rows == 1500 and made.features == ["amount", "country", "hour"]
    assert made.selected_features == ["hour", "amount"]
    assert made.split_warnings == ["time leakage: 40%", "entity overlap: 3 entities"]
    assert made.forced_features == ["amount", "hour"] and made.permuted_labels_seed == 7
    assert made.train_label_mean == 0.123457 and made.train_label_std == 0.32
    assert made.dagster_run_id == "run-1" and made.code_version == "5"
    chain = Chain.of(FULL_VERSION)
    assert chain.mode == "full" and not chain.incremental and chain.partitions_since_full == 0
    assert chain.continued_from is None and chain.step_partitions is None
    assert Search.of(FULL_VERSION) == Search(trials=3, best_value=0.8123456789)
    registration = Registration.of(FULL_VERSION)
    assert registration.family == "lightgbm" and registration.complete
    promotion = Promotion.of(FULL_VERSION)
    assert promotion.previous_champion is None and promotion.reason == "all gates passed"

    refreshed = Chain.of(REFRESH)
    assert refreshed.incremental and refreshed.continued_from == "4"
    assert refreshed.partitions_since_full == 2
    assert refreshed.step_partitions == ["2026-01-04", "2026-01-05"]
    assert refreshed.step_batch_ids == ["b3", "b4"]

    evaluation = EvaluationRun.of(EVALUATION)
    assert evaluation.candidate_versions == ["5"] and evaluation.champion_version is None
    assert evaluation.holdout_rows == 300


def test_the_records_write_the_keys_and_text_the_release_before_them_wrote() -> None:
    """Read and written again, every tag comes out as it was: the same candidate key too."""
    rewritten = {
        **Provenance.of(FULL_VERSION).tags(),
        **ModelLineage.of(FULL_VERSION).tags(),
        **Chain.of(FULL_VERSION).tags(),
        **Search.of(FULL_VERSION).tags(),
        **Registration.of(FULL_VERSION).tags(),
        **Promotion.of(FULL_VERSION).tags(),
    }
    assert rewritten == FULL_VERSION
    assert candidate_key(rewritten) == candidate_key(FULL_VERSION)
    refreshed = {
        **Chain.of(REFRESH).tags(),
        **Provenance.of(REFRESH).tags(),
        **ModelLineage.of(REFRESH).tags(),
    }
    assert refreshed == REFRESH
    forced = {**ModelLineage.of(FORCED).tags(), **Provenance.of(FORCED).tags()}
    assert forced == FORCED
    assert EvaluationRun.of(EVALUATION).tags() == EVALUATION
    assert Trial(number=4).tags() == {"ct.trial": "4"}
    assert Trial.of(Trial(number=4).tags()).number == 4


def test_a_missing_tag_reads_as_none_or_empty_never_as_one_empty_name() -> None:
    assert ModelLineage.of(FORCED).batch_ids == []
    assert ModelLineage.of({}) == ModelLineage()
    made = Provenance.of({})
    assert made.selected_features is None and made.features is None
    assert made.split_warnings is None and made.forced_features == []
    assert made.train_label_mean is None and made.dagster_run_id is None
    assert Provenance.of({"ct.selected_features": ""}).selected_features == []
    assert Provenance.of({"ct.split_warnings": "none"}).split_warnings == []
    assert Provenance.of({"ct.train_label_mean": "n/a"}).train_label_mean is None
    assert Chain.of({}) == Chain(mode="full", partitions_since_full=0)
    assert Search.of({}).trials is None
    # Registered before the pending/complete protocol: in one write, so complete.
    assert Registration.of({}).complete and not Registration(state="pending").complete
    assert Promotion.of({}) == Promotion()
    # A field left None is not written; an empty warning list is, as "none".
    assert Provenance().tags() == {}
    assert Provenance(split_warnings=[]).tags() == {"ct.split_warnings": "none"}


def test_promotion_marks_are_written_with_promoted_at_last() -> None:
    """The registry's reconcile reads `promoted_at` to know a move was applied in full."""
    marks = Promotion(reason="r", previous_champion="3", promoted_at="t").tags()
    assert list(marks) == ["ct.promotion_reason", "ct.previous_champion", "ct.promoted_at"]


def test_history_moves_read_as_written_and_as_before_kinds() -> None:
    moment = datetime(2026, 1, 4, 1, 2, 3, 4, tzinfo=UTC)
    key, value = history_tag(moment, {"kind": "rollback", "to": "2", "from": "3"})
    assert key == "ct.history.20260104T010203.000004Z"
    older = {"ct.history.20260101T000000.000000Z": '{"to": "1", "from": null}'}
    moves = history_moves({**older, key: value, "ct.other": "x"})
    assert [m["kind"] for m in moves] == ["promote", "rollback"]


def test_a_full_retrain_is_tagged_with_its_rows_provenance_and_the_root_of_a_chain() -> None:
    rows = pd.DataFrame(
        {
            PARTITION: ["2026-01-02", "2026-01-01", "2026-01-02"],
            BATCH: ["b1", "b0", "b1"],
            FEATURE_SET: ["fs-1"] * 3,
            LABEL: [0, 1, 1],
        }
    )
    labels = rows[LABEL].to_numpy(dtype=float)
    made = Provenance(
        train_rows=len(rows),
        feature_set_id="fs-1",
        train_label_mean=float(labels.mean()),
        train_label_std=float(labels.std()),
    )
    tags = training_tags(rows, "2026-01-02", made)
    assert tags == {
        "ct.train_rows": "3",
        "ct.feature_set_id": "fs-1",
        "ct.train_label_mean": "0.666667",
        "ct.train_label_std": "0.471405",
        "ct.partition": "2026-01-02",
        "ct.training_partitions": "2026-01-01,2026-01-02",
        "ct.batch_ids": "b0,b1",
        "ct.training_mode": "full",
        "ct.partitions_since_full": "0",
    }
    assert not math.isnan(Provenance.of(tags).train_label_std or math.nan)


def test_no_tag_key_is_spelt_outside_the_tags_module() -> None:
    keys = {
        value
        for name, value in vars(model_tags).items()
        if name.endswith("_TAG") or name == "HISTORY_PREFIX"
    }
    assert "ct.partition" in keys and "ct.history." in keys
    spelt = re.compile("|".join(rf"[\"']{re.escape(k)}[\"']" for k in keys))
    found = [
        f"{path.relative_to(REPOSITORY)}:{n}"
        for folder in ("ct_assets", "resources", "sensors", "bench")
        for path in sorted((REPOSITORY / folder).rglob("*.py"))
        if Path(model_tags.__file__).resolve().parent not in path.parents
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if spelt.search(line)
    ]
    assert found == []
