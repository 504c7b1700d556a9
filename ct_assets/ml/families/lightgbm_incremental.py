"""The champion's LightGBM booster continued on the rows it has not seen (`ml.incremental`
plans and bounds the chain); with no booster to continue, LightGBM from scratch as the chain's
root."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ct_assets.ml.families import register
from ct_assets.ml.families.base import Inputs, TrainedModel
from ct_assets.ml.families.flavours import LightGBMBooster
from ct_assets.ml.families.lightgbm import train_lightgbm

if TYPE_CHECKING:
    import pandas as pd

NAME = "lightgbm_incremental"


class LightGBMIncremental(LightGBMBooster):
    name = NAME
    description = "the champion's LightGBM booster continued on unseen rows, bounded chains"
    by_default = True
    rank = 40
    continues_champion = True
    restarts_as = "lightgbm"

    def train(self, rows: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
        return train_lightgbm(rows, labels, inputs, name=NAME)


register(LightGBMIncremental())
