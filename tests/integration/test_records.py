"""The typed records stages hand each other: written once as one metadata entry, read back
through one function; NaN survives the event log; what an earlier ct wrote still reads."""

from __future__ import annotations

import math

import dagster as dg
import pytest

from ct_assets.ml.live_score import ChampionScore
from ct_assets.ml.live_verdicts import LiveJudgement, Verdict
from ct_assets.ml.records import LiveScore


def test_a_live_score_round_trips_through_a_real_event_log_with_its_nans() -> None:
    score = ChampionScore("roc_auc", 1500, "7", "none", False, 0.61, math.nan, 0.70)
    failed = Verdict(True, False, "degraded", {})
    judged = LiveJudgement(failed, Verdict(False, True, "not judged", {}), failed)
    record = judged.record(score)

    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["d1"]))
    def champion_performance() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={**score.figures(), **record.entry()})

    with dg.instance_for_test() as instance:
        assert dg.materialize([champion_performance], instance=instance, partition_key="d1")
        event = instance.fetch_materializations(
            dg.AssetKey("champion_performance"), limit=1
        ).records[0]
        assert event.asset_materialization is not None
        stored = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    read = LiveScore.from_metadata(stored)
    assert read is not None
    assert read.champion_version == "7" and read.previous_version is None
    assert read.champion == 0.61 and math.isnan(read.previous)
    assert read.worse_than_baseline_by == pytest.approx(0.09)
    assert read.live_degraded and not read.gap_exceeded and read.label_shifted
    assert read.model_dump_json() == record.model_dump_json()
