"""Unit tests of ct_assets/ml/plots.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import numpy as np

from ct_assets.ml.plots import CURVES, comparison_figures, markdown_images, png


def test_curves_draw_every_model_on_one_figure_each() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 300)
    figures = comparison_figures(
        "binary",
        labels,
        {"v1 lightgbm": labels * 0.5 + rng.random(300) * 0.5, "v2": rng.random(300)},
    )
    assert set(figures) == set(CURVES["binary"])
    roc_lines = [line.get_label() for line in figures["roc"].axes[0].get_lines()]
    assert any(label.startswith("v1 lightgbm") for label in roc_lines)
    assert any(label.startswith("v2") for label in roc_lines)
    assert png(figures["roc"]).startswith(b"\x89PNG")
    embedded = markdown_images({name: png(f) for name, f in figures.items()})
    assert embedded.count("data:image/png;base64,") == 3


def test_regression_curves_show_predictions_against_actuals_and_residuals() -> None:
    rng = np.random.default_rng(7)
    labels = rng.normal(50, 10, 400)
    figures = comparison_figures(
        "regression", labels, {"v3 lightgbm": labels + rng.normal(0, 2, 400)}
    )
    assert set(figures) == {"predicted_vs_actual", "residuals"}
    assert all(png(f).startswith(b"\x89PNG") for f in figures.values())
