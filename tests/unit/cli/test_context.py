"""Unit tests of ct_assets/cli/context.py: which project a command works on, alone or in a
fleet, and its resources under their short names.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ct_assets.cli import build_parser, main
from ct_assets.cli.context import fleet_of, project_of, resources_of
from ct_assets.names import Namespace
from ct_assets.project.load import ProjectError
from resources.storage import BatchStore


def args(*line: str):
    return build_parser().parse_args([*line, "status"])


def test_a_project_of_a_fleet_is_named_by_its_name_or_its_folder(fleet: Path) -> None:
    by_name = project_of(args("--fleet", str(fleet), "--project", "energy"), {})
    by_folder = project_of(args("--fleet", str(fleet), "--project", str(fleet / "energy")), {})
    assert by_name.root == by_folder.root == fleet / "energy"
    # It carries its namespace and the fleet's instance, whichever project it is.
    assert by_name.namespace == Namespace.of("energy")
    assert by_name.dagster_home == fleet / ".ct" / "dagster_home"
    shop = project_of(args("--fleet", str(fleet), "--project", "shop"), {})
    assert shop.namespace.key("raw_batches") == dg.AssetKey(["shop", "raw_batches"])
    assert shop.dagster_home == by_name.dagster_home
    assert shop.home == fleet / "shop" / ".ct"  # its data and models stay its own


def test_ct_fleet_names_the_fleet_and_ct_project_a_project_in_it(fleet: Path) -> None:
    environ = {"CT_FLEET": str(fleet), "CT_PROJECT": str(fleet / "shop")}
    assert project_of(args(), environ).namespace == Namespace.of("shop")
    # --project wins over CT_PROJECT, --fleet over CT_FLEET.
    assert project_of(args("--project", "energy"), environ).spec.name == "energy"
    other = fleet.parent / "elsewhere"
    assert fleet_of(args("--fleet", str(fleet)), {"CT_FLEET": str(other)}) is not None
    with pytest.raises(ProjectError, match="no such folder"):
        fleet_of(args(), {"CT_FLEET": str(other)})


def test_unnamed_the_project_is_the_one_the_current_folder_is_in(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fleet / "energy" / "landing").mkdir()
    monkeypatch.chdir(fleet / "energy" / "landing")
    assert project_of(args("--fleet", str(fleet)), {}).spec.name == "energy"
    monkeypatch.chdir(fleet)
    with pytest.raises(ProjectError) as refused:
        project_of(args("--fleet", str(fleet)), {})
    assert str(refused.value) == (
        f"{fleet}: a fleet of 2 projects (energy, shop): name one with --project NAME"
    )


def test_a_project_not_in_the_fleet_is_refused_naming_the_fleet_s(fleet: Path) -> None:
    with pytest.raises(ProjectError, match=r"no project 'churn' in this fleet \(energy, shop\)"):
        project_of(args("--fleet", str(fleet), "--project", "churn"), {})


def test_without_a_fleet_a_project_is_read_alone_as_always(fleet: Path) -> None:
    alone = project_of(args("--project", str(fleet / "shop")), {})
    assert alone.namespace == Namespace() and alone.instance_home is None
    assert alone.dagster_home == fleet / "shop" / ".ct" / "dagster_home"


def test_the_fleet_option_is_refused_by_a_command_that_takes_no_project(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--fleet", "somewhere", "demo"])
    assert done.value.code == 2
    assert "ct demo takes no --fleet" in capsys.readouterr().err


def test_resources_are_found_under_the_namespace_and_handed_back_by_their_short_name(
    fleet: Path, tmp_path: Path
) -> None:
    shop = project_of(args("--fleet", str(fleet), "--project", "shop"), {})
    store = BatchStore(base_dir=str(tmp_path / "data"))
    defs = dg.Definitions(resources={"shop__batch_store": store, "batch_store": "not this"})
    with resources_of(shop, defs, "batch_store") as res:
        assert isinstance(res.batch_store, BatchStore)
        assert res.batch_store.base_dir == str(tmp_path / "data")
        assert res.batch_store.all_quarantined() == []
    alone = project_of(args("--project", str(fleet / "shop")), {})
    lone = dg.Definitions(resources={"shop__batch_store": store})
    # A lone project's resource keys are bare.
    with pytest.raises(KeyError), resources_of(alone, lone, "batch_store"):
        pass
