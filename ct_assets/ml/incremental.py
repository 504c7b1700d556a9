"""The incremental candidate: the champion's booster continued on the rows it has not seen.

A refresh is much cheaper than a full retrain, but every refresh stacks trees fitted to a short
slice of data on top of the old ones; errors and drift in that path would accumulate forever.
So a chain of refreshes is bounded: once it spans `full_every` partitions since its last full
retrain, no refresh is offered and the full LightGBM candidate of the same run is the retrain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ct_assets.ml import families
from ct_assets.ml.families.flavours import LightGBMBooster
from ct_assets.ml.families.lightgbm_incremental import NAME as INCREMENTAL_FAMILY
from ct_assets.ml.frames import BATCH, PARTITION
from ct_assets.ml.tags import (
    BASE_TAG,
    FULL,
    INCREMENTAL,
    MODE_TAG,
    SINCE_FULL_TAG,
    STEP_BATCHES_TAG,
    STEP_PARTITIONS_TAG,
    Chain,
    ModelLineage,
    Provenance,
)

if TYPE_CHECKING:
    import lightgbm as lgb

    from ct_assets.ml.families import Inputs, TrainedModel

# The chain's tags and modes, named here too for the callers that import them from here.
__all__ = [
    "BASE_TAG",
    "FULL",
    "INCREMENTAL",
    "MODE_TAG",
    "SINCE_FULL_TAG",
    "STEP_BATCHES_TAG",
    "STEP_PARTITIONS_TAG",
    "Base",
    "Plan",
    "plan_refresh",
    "refresh",
    "unseen_rows",
]


@dataclass(frozen=True)
class Base:
    """What the incremental path needs to know of the champion it would continue."""

    version: str
    family: str
    tags: Mapping[str, str]

    @property
    def partitions(self) -> set[str]:
        return set(ModelLineage.of(self.tags).training_partitions)

    @property
    def batch_ids(self) -> set[str]:
        return set(ModelLineage.of(self.tags).batch_ids)

    @property
    def since_full(self) -> int:
        return Chain.of(self.tags).partitions_since_full

    @property
    def feature_set_id(self) -> str | None:
        return Provenance.of(self.tags).feature_set_id


@dataclass(frozen=True)
class Plan:
    """Whether to refresh, from which base, on which rows; or why not."""

    refresh: bool
    reason: str
    base: Base | None = None
    new_rows: np.ndarray | None = None
    new_partitions: tuple[str, ...] = ()
    since_full: int = 0


def unseen_rows(train: pd.DataFrame, base: Base) -> np.ndarray:
    """Training rows the base was not trained on: outside its partitions or its batches.

    A row is identified by (partition, batch): a late batch for a day the base saw is new, and
    so is a day it never saw. The base's own holdout rows count as seen; it never trained on
    them, but they are a small slice of a partition it knew.
    """
    in_partitions = train[PARTITION].isin(base.partitions).to_numpy()
    in_batches = train[BATCH].isin(base.batch_ids).to_numpy()
    # A base trained on a short window left the older partitions out on purpose (they held
    # another regime, or lost to the newest rows): a refresh adds what is new, not those.
    newest = max(base.partitions, default="")
    older = (train[PARTITION] < newest).to_numpy() & ~in_partitions
    return ~(in_partitions & in_batches) & ~older


def plan_refresh(
    train: pd.DataFrame, base: Base | None, feature_set_id: str, full_every: int
) -> Plan:
    """Decide whether the incremental candidate is a refresh of `base`, and on which rows."""
    if base is None:
        return Plan(False, "no champion to continue from")
    if base.family not in families.names() or not isinstance(
        families.get(base.family), LightGBMBooster
    ):
        return Plan(False, f"champion v{base.version} is {base.family}, not a LightGBM booster")
    if base.feature_set_id != feature_set_id:
        return Plan(
            False,
            f"champion v{base.version} was trained on feature set "
            f"{base.feature_set_id}, these rows are {feature_set_id}",
        )
    rows = unseen_rows(train, base)
    if not rows.any():
        return Plan(False, f"no training row that champion v{base.version} has not seen")
    new_partitions = tuple(sorted(set(train.loc[rows, PARTITION]) - base.partitions))
    since_full = base.since_full + len(new_partitions)
    if since_full >= full_every:
        return Plan(
            False,
            f"full retrain due: champion v{base.version} is {base.since_full} partition(s) from "
            f"its last full retrain, {len(new_partitions)} more would reach {full_every}",
            base,
            since_full=since_full,
        )
    return Plan(
        True,
        f"continues champion v{base.version} on {int(rows.sum())} unseen rows "
        f"({', '.join(new_partitions) or 'late batches'}), {since_full} of {full_every} "
        "partitions before a full retrain",
        base,
        rows,
        new_partitions,
        since_full,
    )


def refresh(
    booster: lgb.Booster,
    train: pd.DataFrame,
    labels: pd.Series,
    plan: Plan,
    rounds: int,
    inputs: Inputs,
) -> TrainedModel:
    """Continue `booster` (the champion) with `rounds` more trees fitted to the unseen rows.

    The booster's own features are used (`inputs` is every feature the project declares),
    whatever this run's selection chose: continued trees must read the columns the first ones
    read.
    """
    import lightgbm as lgb  # planning a refresh is cheap to import; training one is not

    from ct_assets.ml.families import Inputs, TrainedModel
    from ct_assets.ml.families.lightgbm import lightgbm_dataset, lightgbm_params

    assert plan.refresh and plan.base is not None and plan.new_rows is not None
    features: Sequence[str] = families.get(INCREMENTAL_FAMILY).features(booster)
    missing = [f for f in features if f not in inputs.features]
    if missing:
        raise ValueError(
            f"champion v{plan.base.version} reads {', '.join(missing)}, which this project no "
            "longer declares: it cannot be continued"
        )
    # In the booster's own order, whatever this run's feature selection kept.
    theirs = Inputs(
        inputs.task, tuple(features), tuple(c for c in features if c in inputs.categorical)
    )
    new = train[plan.new_rows]
    data = lightgbm_dataset(new, labels.to_numpy()[plan.new_rows], theirs)
    params = lightgbm_params(inputs.task)
    continued = lgb.train(params, data, num_boost_round=rounds, init_model=booster)
    step_partitions = sorted(new[PARTITION].unique())
    step_batches = sorted(new[BATCH].unique())
    return TrainedModel(
        INCREMENTAL_FAMILY,
        continued,
        {
            **params,
            "rounds": rounds,
            "base_trees": booster.num_trees(),
            "new_rows": len(new),
        },
        tags={
            **Chain(
                mode=INCREMENTAL,
                continued_from=plan.base.version,
                partitions_since_full=plan.since_full,
                step_partitions=step_partitions,
                step_batch_ids=step_batches,
            ).tags(),
            # Over the window's: the rows and features of this step.
            **Provenance(selected_features=list(features), train_rows=len(new)).tags(),
            # The model carries everything its base learnt from, plus this step.
            **ModelLineage(
                training_partitions=sorted(plan.base.partitions | set(step_partitions)),
                batch_ids=sorted(plan.base.batch_ids | set(step_batches)),
            ).tags(),
        },
    )
