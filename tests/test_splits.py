"""Split strategies and the leakage each one risks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ct_assets.ml.features import build_features
from ct_assets.ml.frames import BATCH, ENTITY, HOLDOUT, LABEL, SPLIT
from ct_assets.ml.split_strategies import BUILT_IN, holdout_mask, leakage_warnings
from ct_assets.ml.windows import assemble_window, split_warnings
from ct_assets.observe import latest_metadata
from ct_assets.project.load import ProjectError, load_project
from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource
from tests.conftest import Deployment, write_project
from tests.test_features import ENERGY, SHOP, validated

SOURCE = DriftingSource(start=date(2026, 1, 1), rows_per_day=800, drift_day=100)


def parts(days: int = 3) -> dict[str, pd.DataFrame]:
    """Features of the shop example's first days, by partition, as the window reads them."""
    out = {}
    for index in range(days):
        key = SOURCE.start.fromordinal(SOURCE.start.toordinal() + index).isoformat()
        out[key] = build_features(validated(SOURCE.day(index), SHOP, f"b{index}"), SHOP)
    return out


def every_third(window: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    return (np.arange(len(window)) % 3) == 0


@pytest.mark.parametrize("strategy", [s for s in BUILT_IN if s != "group"])
def test_every_row_strategy_holds_out_about_the_fraction(strategy: str) -> None:
    window = assemble_window(parts(), 0.25, strategy, seed=1)
    share = float((window[SPLIT] == HOLDOUT).mean())
    assert 0.15 < share < 0.35, (strategy, share)


def test_the_time_cut_warns_of_nothing_and_random_cuts_warn_of_time_leakage() -> None:
    assert split_warnings(assemble_window(parts(), 0.2, "time"), "time") == []
    for strategy in ("random", "shuffled", "stratified"):
        warned = split_warnings(assemble_window(parts(), 0.2, strategy), strategy)
        assert any(w.startswith("time leakage:") for w in warned), strategy
        assert any(w.startswith("entity overlap:") for w in warned), strategy


def test_the_group_cut_keeps_every_entity_on_one_side() -> None:
    window = assemble_window(parts(), 0.2, "group")
    held = window[SPLIT] == HOLDOUT
    assert not set(window.loc[held, ENTITY]) & set(window.loc[~held, ENTITY])
    # The fraction is of entities, not rows: busy entities make the row share differ.
    held_entities = window.loc[held, ENTITY].nunique() / window[ENTITY].nunique()
    assert abs(held_entities - 0.2) < 0.02
    assert not any(w.startswith("entity overlap") for w in split_warnings(window, "group"))


def test_the_stratified_cut_keeps_the_label_rate() -> None:
    window = assemble_window(parts(), 0.2, "stratified")
    held = window[SPLIT] == HOLDOUT
    assert abs(window.loc[held, LABEL].mean() - window.loc[~held, LABEL].mean()) < 0.01


def test_the_sequential_cut_holds_out_the_last_delivered_rows() -> None:
    days = parts()
    shuffled_last = {
        k: (v.sample(frac=1, random_state=0) if k == max(days) else v) for k, v in days.items()
    }
    window = assemble_window(shuffled_last, 0.2, "sequential")
    assert set(window.loc[window[SPLIT] == HOLDOUT, BATCH]) == {"b2"}


def test_a_custom_strategy_is_imported_by_name_and_bad_ones_are_refused(tmp_path: Path) -> None:
    window = assemble_window(parts(1), 0.2, "custom:tests.test_splits:every_third")
    assert abs(float((window[SPLIT] == HOLDOUT).mean()) - 1 / 3) < 0.01
    with pytest.raises(ValueError, match="cannot import"):
        holdout_mask(window, "custom:tests.nowhere:f", 0.2, 0)
    with pytest.raises(ValueError, match="expected one of time"):
        holdout_mask(window, "coin_flip", 0.2, 0)
    root = tmp_path / "project"
    write_project(root)
    with pytest.raises(ProjectError, match=r"CT_SPLIT_STRATEGY \(training\.split\).*coin_flip"):
        load_project(root, environ={"CT_SPLIT_STRATEGY": "coin_flip"})
    with pytest.raises(ProjectError, match=r"training\.split: 'coin_flip': expected one of time"):
        write_project(tmp_path / "declared", changes={"training": {"split": "coin_flip"}})
    custom = load_project(root, environ={"CT_SPLIT_STRATEGY": "custom:tests.test_splits:f"})
    assert custom.spec.training.split == "custom:tests.test_splits:f"
    mask = np.zeros(len(window), dtype=bool)
    mask[:5] = True
    assert leakage_warnings(window, mask, "custom") != []


def test_a_leaky_split_still_trains_and_says_so_in_dagster_and_mlflow(
    project: Deployment,
) -> None:
    project.reconfigure({"training": {"split": "random"}})
    assert project.spec.training.split == "random"
    project.drop_day(0)
    assert project.materialize(project.partition(0)).success
    window = latest_metadata(project.instance, "training_window", project.partition(0))
    assert window is not None and window["split_strategy"] == "random"
    assert "time leakage" in window["split_warnings"]
    registry = project.resource("mlflow")
    tags = registry.version_tags(registry.versions()[0]["version"])
    assert tags["ct.split_strategy"] == "random"
    assert "time leakage" in tags["ct.split_warnings"]


# -- a dataset without an entity -----------------------------------------------------------------


def meter_parts(days: int = 3) -> dict[str, pd.DataFrame]:
    source = MeterSource(start=date(2026, 1, 1), rows_per_day=400, drift_day=100)
    return {
        f"2026-01-0{i + 1}": build_features(validated(source.day(i), ENERGY, f"m{i}"), ENERGY)
        for i in range(days)
    }


@pytest.mark.parametrize("strategy", ["time", "sequential", "random", "shuffled"])
def test_without_an_entity_every_row_strategy_cuts_and_no_entity_overlap_is_claimed(
    strategy: str,
) -> None:
    window = assemble_window(meter_parts(), 0.25, strategy, seed=1)
    share = float((window[SPLIT] == HOLDOUT).mean())
    assert 0.15 < share < 0.35, (strategy, share)
    warned = split_warnings(window, strategy)
    assert not any(w.startswith("entity overlap") for w in warned), warned
    if strategy in ("random", "shuffled"):
        assert any(w.startswith("time leakage:") for w in warned), strategy
    else:
        assert warned == [], strategy


def test_splits_a_dataset_cannot_support_are_refused_in_ct_yaml(tmp_path: Path) -> None:
    with pytest.raises(
        ProjectError, match=r"group splits by entity; declare dataset\.roles\.entity"
    ):
        write_project(tmp_path / "group", "energy", {"training": {"split": "group"}})
    with pytest.raises(ProjectError, match="stratified needs a binary label"):
        write_project(tmp_path / "stratified", "energy", {"training": {"split": "stratified"}})
