"""Curves that compare models on one holdout: ROC, precision-recall and calibration."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

from ct_assets.ml.evaluation import CALIBRATION_BINS

CURVES = ("roc", "precision_recall", "calibration")


def comparison_figures(
    labels: np.ndarray, predictions: Mapping[str, np.ndarray]
) -> dict[str, Figure]:
    """One figure per curve, every model (keyed by its label) on the same axes.

    Figures are built without pyplot, so nothing global is touched and runs in threads of the
    same process cannot draw on each other's axes.
    """
    figures = {}
    for curve in CURVES:
        figure = Figure(figsize=(5, 4), dpi=80)
        axes = figure.subplots()
        for name, proba in predictions.items():
            if curve == "roc":
                RocCurveDisplay.from_predictions(labels, proba, name=name, ax=axes)
            elif curve == "precision_recall":
                PrecisionRecallDisplay.from_predictions(labels, proba, name=name, ax=axes)
            else:
                CalibrationDisplay.from_predictions(
                    labels, proba, n_bins=CALIBRATION_BINS, name=name, ax=axes
                )
        axes.set_title(curve.replace("_", "-"))
        axes.legend(fontsize=7, loc="best")
        figure.tight_layout()
        figures[curve] = figure
    return figures


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def markdown_images(images: Mapping[str, bytes]) -> str:
    """PNG images inline in a markdown metadata value, which the Dagster UI renders."""
    return "\n\n".join(
        f"![{name}](data:image/png;base64,{base64.b64encode(image).decode()})"
        for name, image in images.items()
    )
