"""The tags ct writes on a registered model (the champion's moves) and on runs that are not
a model's (a search trial, an evaluation)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ct_assets.ml.tags.keys import (
    CANDIDATE_VERSIONS_TAG,
    CHAMPION_VERSION_TAG,
    HISTORY_PREFIX,
    HOLDOUT_ROWS_TAG,
    METRIC_TAG,
    PARTITION_TAG,
    RUN_ID_TAG,
    TRIAL_TAG,
    TagRecord,
    int_of,
    names_of,
    text_of,
)

# -- registered model and run tags --------------------------------------------------------------


def history_tag(moment: datetime, move: Mapping[str, Any]) -> tuple[str, str]:
    """One move of the champion alias as a registered model tag: keys sort by time."""
    return f"{HISTORY_PREFIX}{moment.strftime('%Y%m%dT%H%M%S.%fZ')}", json.dumps(move)


def history_moves(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every move of the champion alias a registered model's tags record, oldest first (a
    record from before moves had kinds was a promotion)."""
    moves = [json.loads(v) for k, v in sorted(tags.items()) if k.startswith(HISTORY_PREFIX)]
    return [{"kind": "promote", **m} for m in moves]


class Trial(TagRecord):
    """A search trial's run (a child of its candidate's run)."""

    number: int

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> Trial:
        return cls(number=int(tags[TRIAL_TAG]))

    def tags(self) -> dict[str, str]:
        return {TRIAL_TAG: str(self.number)}


class EvaluationRun(TagRecord):
    """The run of one evaluation: the candidates it compared with the champion, on how many
    holdout rows of which partition, by which metric."""

    partition: str
    dagster_run_id: str
    candidate_versions: list[str] = []
    champion_version: str | None = None
    holdout_rows: int = 0
    metric: str = ""

    @classmethod
    def of(cls, tags: Mapping[str, str]) -> EvaluationRun:
        return cls(
            partition=tags[PARTITION_TAG],
            dagster_run_id=tags[RUN_ID_TAG],
            candidate_versions=names_of(tags.get(CANDIDATE_VERSIONS_TAG)) or [],
            champion_version=text_of(tags.get(CHAMPION_VERSION_TAG)),
            holdout_rows=int_of(tags.get(HOLDOUT_ROWS_TAG)) or 0,
            metric=tags.get(METRIC_TAG, ""),
        )

    def tags(self) -> dict[str, str]:
        return {
            PARTITION_TAG: self.partition,
            RUN_ID_TAG: self.dagster_run_id,
            CANDIDATE_VERSIONS_TAG: ",".join(self.candidate_versions),
            CHAMPION_VERSION_TAG: self.champion_version or "",
            HOLDOUT_ROWS_TAG: str(self.holdout_rows),
            METRIC_TAG: self.metric,
        }
