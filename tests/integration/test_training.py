"""Every model family on a user's column names: spaces, brackets, colons, commas, percent signs.

LightGBM refuses JSON special characters in feature names and rewrites whitespace, so names
like these used to break training or the serving contract; the families must read them as
declared.
"""

from __future__ import annotations

import numpy as np
import pytest

from ct_assets.ml import families
from ct_assets.ml.frames import BATCH, LABEL
from ct_assets.ml.training import model_features, predict, train_family
from ct_assets.ml.vocabulary import BINARY, REGRESSION
from tests.helpers.training import AWKWARD, frame, inputs_for


@pytest.mark.parametrize("task", [BINARY, REGRESSION])
@pytest.mark.parametrize("family", families.names())
def test_every_family_trains_and_predicts_on_awkward_column_names(family: str, task: str) -> None:
    data = frame(task)
    trained = train_family(family, data, inputs_for(task))
    assert model_features(family, trained.model) == list(AWKWARD)
    # Serving sends the declared names, in any order, with other columns beside them.
    shuffled = data[[LABEL, *reversed(AWKWARD), BATCH]]
    predicted = predict(family, trained.model, shuffled)
    assert predicted.shape == (len(data),) and np.isfinite(predicted).all()
    np.testing.assert_allclose(predicted, predict(family, trained.model, data))
    if task == BINARY:
        assert ((predicted >= 0) & (predicted <= 1)).all()
        assert np.corrcoef(predicted, data[LABEL])[0, 1] > 0.3
    else:
        assert np.corrcoef(predicted, data[LABEL])[0, 1] > 0.5
