"""scikit-learn's HistGradientBoosting: boosted trees with no LightGBM dependency at serving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ct_assets.ml.families import register
from ct_assets.ml.families.base import Inputs, TrainedModel
from ct_assets.ml.families.flavours import ScikitLearn
from ct_assets.ml.vocabulary import BINARY

if TYPE_CHECKING:
    import pandas as pd

NAME = "sklearn_hgb"
HGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 150,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "random_state": 13,
}


class SklearnHGB(ScikitLearn):
    name = NAME
    description = "scikit-learn HistGradientBoosting classifier or regressor"
    by_default = True
    rank = 30
    # Its trees and input validator, beyond scikit-learn's estimators.
    trusted_types = (
        "numpy.dtype",
        "functools.partial",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.utils.validation.check_array",
    )

    def train(self, rows: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        # HistGradientBoosting reads missing values natively and treats negative category
        # codes (ct's "missing or unknown") as missing, so it needs no imputer or encoder.
        kind = (
            HistGradientBoostingClassifier
            if inputs.task == BINARY
            else HistGradientBoostingRegressor
        )
        model = kind(categorical_features=list(inputs.categorical) or None, **HGB_PARAMS)
        model.fit(rows[list(inputs.features)], labels)
        return TrainedModel(NAME, model, dict(HGB_PARAMS))


register(SklearnHGB())
