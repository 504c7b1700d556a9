"""What families of one library share: how their models read features, predict, and are logged
and loaded in MLflow (a LightGBM booster; a scikit-learn estimator or pipeline). A family
module subclasses one of these and says how it trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from ct_assets.ml.families.base import Family

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# LightGBM refuses a feature name holding a JSON special character and silently turns
# whitespace into "_", after which its feature names no longer name the frame's columns. A
# user's columns ("Price [EUR]", "Total Amount") reach it %-escaped (the escape of "%" too, so
# the names map back exactly), and everything outside LightGBM sees the declared names.
_LIGHTGBM_UNSAFE = frozenset(' \t\n\r\x0b\x0c",:[]{}%')


def lightgbm_name(name: str) -> str:
    """A feature name LightGBM keeps as it is; `unquote` gives the name back."""
    return "".join(f"%{ord(c):02X}" if c in _LIGHTGBM_UNSAFE else c for c in name)


def lightgbm_frame(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The feature columns, in order, under the names LightGBM keeps."""
    out = frame[list(features)]  # a new frame already: renaming it in place copies nothing
    out.columns = [lightgbm_name(f) for f in features]
    return out


class LightGBMBooster(Family):
    """A `lightgbm.Booster`, logged in MLflow's lightgbm flavour."""

    packages = ("lightgbm", "numpy", "pandas")
    platform = "lightgbm"
    kind = "lightgbm"

    def features(self, model: Any) -> list[str]:
        return [unquote(n) for n in model.feature_name()]

    def predict(self, model: Any, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        features = self.features(model)
        return np.asarray(model.predict(lightgbm_frame(frame, features)), dtype=float)

    def predict_matrix(
        self, model: Any, matrix: np.ndarray, features: Sequence[str], categorical: Sequence[str]
    ) -> np.ndarray:
        import numpy as np

        # One thread: an OpenMP team per call on a shared 2-core box costs milliseconds.
        return np.asarray(model.predict(matrix, num_threads=1), dtype=float)

    def importance(self, model: Any) -> dict[str, float]:
        """Total gain per feature. Unlike a permutation on one partition's rows, it shows a
        feature that is constant within that partition, such as a day of week."""
        gains = model.feature_importance(importance_type="gain")
        return {n: float(g) for n, g in zip(self.features(model), gains, strict=True)}

    def log(self, model: Any, **common: Any) -> Any:
        import mlflow.lightgbm

        return mlflow.lightgbm.log_model(model, pip_requirements=self.requirements(), **common)

    def load(self, uri: str) -> Any:
        import mlflow.lightgbm

        return mlflow.lightgbm.load_model(uri)


class ScikitLearn(Family):
    """A fitted scikit-learn estimator or pipeline reading a frame by column name, logged in
    MLflow's sklearn flavour with skops (its safe default)."""

    packages = ("scikit-learn", "skops", "numpy", "pandas", "scipy")
    platform = "sklearn"
    kind = "scikitlearn"
    # skops loads only types named as trusted: what this family's models hold beyond
    # scikit-learn's own estimators. ct writes these files itself, so it trusts them.
    trusted_types: ClassVar[tuple[str, ...]] = ("numpy.dtype",)

    def features(self, model: Any) -> list[str]:
        return list(model.feature_names_in_)

    def predict(self, model: Any, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        columns = frame[self.features(model)]
        if hasattr(model, "predict_proba"):
            return np.asarray(model.predict_proba(columns)[:, 1], dtype=float)
        return np.asarray(model.predict(columns), dtype=float)

    def predict_matrix(
        self, model: Any, matrix: np.ndarray, features: Sequence[str], categorical: Sequence[str]
    ) -> np.ndarray:
        # Pipelines select columns by name: a frame (~0.7 ms slower than a booster's array).
        import pandas as pd

        frame = pd.DataFrame(matrix, columns=list(features))
        if categorical:
            frame = frame.astype(dict.fromkeys(categorical, "int64"))
        return self.predict(model, frame)

    def log(self, model: Any, **common: Any) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.log_model(
            model,
            skops_trusted_types=list(self.trusted_types),
            pip_requirements=self.requirements(),
            **common,
        )

    def load(self, uri: str) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(uri)
