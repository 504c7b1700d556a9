"""Unit tests of ct_assets/project/load.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import pytest

from ct_assets.project.load import PROJECT_FILE, ProjectError, parse_spec
from tests.conftest import EXAMPLES, write_project

SHOP_FILE = (EXAMPLES / "shop" / PROJECT_FILE).read_text()


NUMERIC_LINE = "numeric: {method: ks, threshold: 0.1}"


CATEGORICAL_LINE = "categorical: {method: tvd, threshold: 0.1}"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            NUMERIC_LINE,
            "numeric: {method: kss, threshold: 0.1}",
            "drift.numeric.method: 'kss': numeric features are judged by one of ks, "
            "wasserstein, psi, jensenshannon (did you mean 'ks'?)",
        ),
        (
            CATEGORICAL_LINE,
            "categorical: {method: ks, threshold: 0.1}",
            "drift.categorical.method: 'ks': categorical features are judged by one of tvd",
        ),
        (
            CATEGORICAL_LINE,
            "categorical: {method: tvd, threshold: 1.5}",
            "drift.categorical.threshold: tvd is at most 1, so 1.5 would never flag",
        ),
        (NUMERIC_LINE, "numeric: {method: ks, threshold: 0}", "drift.numeric.threshold: must be"),
        (NUMERIC_LINE, "numeric: {method: ks, treshold: 0.2}", "(did you mean 'threshold'?)"),
    ],
)
def test_a_bad_drift_declaration_is_refused_naming_the_key_and_line(
    old: str, new: str, message: str
) -> None:
    assert SHOP_FILE.count(old) == 1
    with pytest.raises(ProjectError) as refused:
        parse_spec(SHOP_FILE.replace(old, new), "ct.yaml", {})
    assert message in str(refused.value), str(refused.value)
    line = next(i for i, text in enumerate(SHOP_FILE.splitlines(), 1) if old in text)
    assert str(refused.value).startswith(f"ct.yaml line {line}: ")


def test_splits_a_dataset_cannot_support_are_refused_in_ct_yaml(tmp_path: Path) -> None:
    with pytest.raises(
        ProjectError, match=r"group splits by entity; declare dataset\.roles\.entity"
    ):
        write_project(tmp_path / "group", "energy", {"training": {"split": "group"}})
    with pytest.raises(ProjectError, match="stratified needs a binary label"):
        write_project(tmp_path / "stratified", "energy", {"training": {"split": "stratified"}})
