"""The linear baseline: logistic regression (binary) or ridge regression, on median-imputed,
scaled numbers and one-hot categories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ct_assets.ml.families import register
from ct_assets.ml.families.base import Inputs, TrainedModel
from ct_assets.ml.families.flavours import ScikitLearn
from ct_assets.ml.vocabulary import BINARY

if TYPE_CHECKING:
    import pandas as pd

NAME = "sklearn_linear"


class SklearnLinear(ScikitLearn):
    name = NAME
    description = "scikit-learn logistic (binary) or ridge (regression) regression"
    by_default = True
    rank = 20

    def train(self, rows: pd.DataFrame, labels: pd.Series, inputs: Inputs) -> TrainedModel:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        encode = ColumnTransformer(
            [
                ("numeric", numeric, list(inputs.numeric)),
                ("categorical", OneHotEncoder(handle_unknown="ignore"), list(inputs.categorical)),
            ]
        )
        if inputs.task == BINARY:
            model: Any = LogisticRegression(C=1.0, max_iter=500)
            params: dict[str, Any] = {"model": "logistic_regression", "C": 1.0, "max_iter": 500}
        else:
            model, params = Ridge(alpha=1.0), {"model": "ridge", "alpha": 1.0}
        pipeline = Pipeline([("encode", encode), ("model", model)])
        pipeline.fit(rows[list(inputs.features)], labels)
        return TrainedModel(NAME, pipeline, params)


register(SklearnLinear())
