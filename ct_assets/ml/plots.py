"""Curves that compare models on one holdout, per task."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import PrecisionRecallDisplay, PredictionErrorDisplay, RocCurveDisplay

from ct_assets.ml.evaluation import CALIBRATION_BINS
from ct_assets.ml.vocabulary import BINARY, REGRESSION

if TYPE_CHECKING:
    import pandas as pd

CURVES = {
    BINARY: ("roc", "precision_recall", "calibration"),
    REGRESSION: ("predicted_vs_actual", "residuals"),
}


def _binary(curve: str, labels: np.ndarray, predictions: Mapping[str, np.ndarray], axes) -> None:
    for name, proba in predictions.items():
        if curve == "roc":
            RocCurveDisplay.from_predictions(labels, proba, name=name, ax=axes)
        elif curve == "precision_recall":
            PrecisionRecallDisplay.from_predictions(labels, proba, name=name, ax=axes)
        else:
            CalibrationDisplay.from_predictions(
                labels, proba, n_bins=CALIBRATION_BINS, name=name, ax=axes
            )


def _regression(
    curve: str, labels: np.ndarray, predictions: Mapping[str, np.ndarray], axes
) -> None:
    kind = "actual_vs_predicted" if curve == "predicted_vs_actual" else "residual_vs_predicted"
    # A few thousand points show the shape; a million would only slow the step down.
    step = max(1, len(labels) // 3000)
    for name, predicted in predictions.items():
        PredictionErrorDisplay.from_predictions(
            labels[::step],
            predicted[::step],
            kind=kind,
            ax=axes,
            scatter_kwargs={"alpha": 0.3, "s": 6, "label": name},
        )


def comparison_figures(
    task: str, labels: np.ndarray, predictions: Mapping[str, np.ndarray]
) -> dict[str, Figure]:
    """One figure per curve of the task, every model (keyed by its label) on the same axes:
    ROC, precision-recall and calibration for binary; predicted against actual and residuals
    for regression.

    Figures are built without pyplot, so nothing global is touched and runs in threads of the
    same process cannot draw on each other's axes.
    """
    figures = {}
    draw = _binary if task == BINARY else _regression
    for curve in CURVES[task]:
        figure = Figure(figsize=(5, 4), dpi=80)
        axes = figure.subplots()
        draw(curve, labels, predictions, axes)
        axes.set_title(curve.replace("_", " "))
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


def live_plot(table: pd.DataFrame, metric: str) -> str:
    """The metric per partition, a line per version and source, as an inline PNG."""
    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    for version, rows in table.groupby("version", sort=False):
        for source, style in (("prequential", "-o"), ("served", "--s")):
            shown = rows[rows[source].notna()]
            if len(shown):
                axes.plot(shown["partition"], shown[source], style, label=f"v{version} {source}")
        base = rows["baseline"].dropna()
        if len(base):
            axes.axhline(float(base.iloc[0]), linestyle=":", linewidth=1, color="grey")
    axes.set_ylabel(metric)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return markdown_images({f"live_{metric}": png(figure)})
