"""Unit tests of ct_assets/ml/families/.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from ct_assets.ml import families
from ct_assets.ml.families import Family
from ct_assets.project.spec import Training
from tests.helpers.families import NEW, DecisionTree


def test_every_module_of_the_package_registers_the_family_it_is_named_after() -> None:
    package = Path(families.__file__).parent
    modules = sorted(
        m.name
        for m in pkgutil.iter_modules([str(package)])
        if m.name not in families._SUPPORT and not m.name.startswith("_")
    )
    assert sorted(families.names()) == modules
    for name in modules:
        assert type(families.get(name)).__module__ == f"ct_assets.ml.families.{name}"


def test_the_defaults_are_the_families_registered_by_default_in_rank_order() -> None:
    # Stored ct.yaml files that list no families keep training what they trained.
    assert Training().families == list(families.defaults())
    assert families.defaults() == (
        "lightgbm",
        "sklearn_linear",
        "sklearn_hgb",
        "lightgbm_incremental",
    )


def test_a_new_family_is_opt_in_and_can_be_named_in_ct_yaml(new_family: Family) -> None:
    assert NEW in families.names()
    assert NEW not in Training().families
    assert Training(families=["lightgbm", NEW]).families == ["lightgbm", NEW]
    with pytest.raises(ValidationError, match=f"expected some of .*{NEW}"):
        Training(families=["test_decision_tre"])
    with pytest.raises(ValueError, match=f"unknown model family 'xgboost'; known: .*{NEW}"):
        families.get("xgboost")


def test_a_family_registered_twice_under_one_name_is_refused(new_family: Family) -> None:
    class Impostor(DecisionTree):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        families.register(Impostor())
