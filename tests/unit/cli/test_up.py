"""Unit tests of ct_assets/cli/up.py and what it starts (ct_assets/cli/processes.py): one daemon
for a lone project or for every project of a fleet, and a `ct serve` per project.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ct_assets.cli import build_parser
from ct_assets.cli.ownership import InstanceBusy, instance_claim
from ct_assets.cli.processes import Install, _refuse_other_installs, commands
from ct_assets.cli.up import install_of, serving_of
from ct_assets.project.load import ProjectError
from resources.environments import resolve
from tests.helpers.fleet import PORTS


def up(*line: str):
    return build_parser().parse_args(["up", *line])


def test_ct_up_with_a_fleet_runs_every_project_on_the_fleet_s_instance(fleet: Path) -> None:
    install = install_of(up("--fleet", str(fleet)))
    assert install.fleet == fleet and install.root == fleet
    assert [p.spec.name for p in install.projects] == ["energy", "shop"]
    environments = install.environments()
    assert {e.dagster_home for e in environments} == {fleet / ".ct" / "dagster_home"}
    assert install.logs == fleet / ".ct" / "logs"
    env = install.child_env(environments[0], {"CT_PROCESS_TAG": "t"})
    # The code server loads the fleet; no one project's selector or home is handed down.
    assert env["CT_FLEET"] == str(fleet) and env["CT_PROCESS_TAG"] == "t"
    assert "CT_PROJECT" not in env and "CT_HOME" not in env
    assert env["DAGSTER_HOME"] == str(fleet / ".ct" / "dagster_home")


def test_the_fleet_s_instance_is_prepared_with_every_project_s_run_limits(fleet: Path) -> None:
    shop = fleet / "shop" / "ct.yaml"
    declared = yaml.safe_load(shop.read_text())
    shop.write_text(yaml.safe_dump({**declared, "runs": {"max_concurrent": 7}}, sort_keys=False))
    install = install_of(up("--fleet", str(fleet), "--env", "production"))
    # The first project's environment renders the shared queue: the largest limits of all.
    first = install.projects[0]
    assert first.spec.name == "energy" and first.spec.runs.max_concurrent == 7
    assert first.spec.environment == "production"


def test_a_fleet_s_processes_place_its_projects_where_ct_up_did(
    fleet: Path, tmp_path: Path
) -> None:
    homes = tmp_path / "homes"
    environ = {"CT_HOME": str(homes)}
    install = install_of(up("--fleet", str(fleet)), environ)
    assert [p.home for p in install.projects] == [homes / "energy", homes / "shop"]
    env = install.child_env(install.environments(environ)[0], {})
    # The root of every project's home, not the first project's own.
    assert env["CT_HOME"] == str(homes)
    again = install_of(up(), {**env})
    assert [p.home for p in again.projects] == [p.home for p in install.projects]


def test_a_lone_project_is_started_as_it_always_was(fleet: Path) -> None:
    install = install_of(up("--project", str(fleet / "shop")))
    assert install.fleet is None and install.root == fleet / "shop"
    assert install.logs == fleet / "shop" / ".ct" / "logs"
    # Its processes load it alone, whatever fleet the calling shell names.
    environment = resolve(install.projects[0], {"CT_FLEET": str(fleet)})
    env = install.child_env(environment, {})
    assert env["CT_PROJECT"] == str(fleet / "shop") and "CT_FLEET" not in env
    assert serving_of(up("--project", str(fleet / "shop"), "--serve"), install) == {
        "shop": PORTS["shop"]
    }
    assert serving_of(up("--serve", "--serve-port", "9000"), install) == {"shop": 9000}
    started = commands(install, None, "127.0.0.1", {"shop": 9000})
    assert [name for name, _ in started] == ["dagster-daemon", "ct-serve"]


def test_a_fleet_serves_each_project_on_its_own_port(fleet: Path) -> None:
    install = install_of(up("--fleet", str(fleet)))
    serving = serving_of(up("--serve"), install)
    assert serving == {"energy": PORTS["energy"], "shop": PORTS["shop"]}
    started = dict(commands(install, 3000, "0.0.0.0", serving))
    assert list(started) == [
        "dagster-daemon",
        "dagster-webserver",
        "ct-serve-energy",
        "ct-serve-shop",
    ]
    assert started["dagster-daemon"][-3:] == ["run", "-m", "ct_assets.definitions"]
    shop = started["ct-serve-shop"]
    assert shop[1:] == [
        *("serve", "--project", str(fleet / "shop")),
        *("--host", "0.0.0.0", "--port", str(PORTS["shop"])),
    ]
    assert serving_of(up(), install) == {}


def test_two_projects_on_one_serving_port_are_refused_before_anything_starts(
    fleet: Path,
) -> None:
    energy = fleet / "energy" / "ct.yaml"
    declared = yaml.safe_load(energy.read_text())
    declared["serving"]["port"] = PORTS["shop"]
    energy.write_text(yaml.safe_dump(declared, sort_keys=False))
    install = install_of(up("--fleet", str(fleet)))
    with pytest.raises(ProjectError) as refused:
        serving_of(up("--serve"), install)
    assert str(refused.value) == (
        f"{fleet / 'shop' / 'ct.yaml'}: serving.port: {PORTS['shop']} is also energy's: with "
        "--serve every project of a fleet is served on its own serving.port"
    )
    with pytest.raises(ProjectError, match="--serve-port names one port"):
        serving_of(up("--serve", "--serve-port", "9000"), install)


def test_ct_up_in_a_fleet_takes_no_single_project(fleet: Path) -> None:
    with pytest.raises(ProjectError, match="ct up runs the daemon of every project of a fleet"):
        install_of(up("--fleet", str(fleet), "--project", "shop"))


def test_the_projects_of_a_fleet_must_share_one_environment(fleet: Path) -> None:
    install = install_of(up("--fleet", str(fleet)))
    mixed = Install(
        (install.projects[0], install.projects[1].with_spec({"environment": "production"})),
        fleet,
    )
    with pytest.raises(ProjectError, match="energy \\(local\\), shop \\(production\\)"):
        mixed.environments()
    # --env puts every project in the one chosen.
    chosen = install_of(up("--fleet", str(fleet), "--env", "production"))
    assert {p.spec.environment for p in chosen.projects} == {"production"}


def test_a_project_runs_under_one_daemon_alone_or_in_its_fleet(fleet: Path) -> None:
    shop = fleet / "shop"
    alone, together = install_of(up("--project", str(shop))), install_of(up("--fleet", str(fleet)))
    alone_home, fleet_home = shop / ".ct" / "dagster_home", fleet / ".ct" / "dagster_home"
    with instance_claim(fleet_home, fleet, "ct up --fleet"), pytest.raises(InstanceBusy) as no:
        _refuse_other_installs(alone, alone_home)
    assert f"{shop} is a project of the fleet {fleet}, whose ct up runs it" in str(no.value)
    with (
        instance_claim(alone_home, shop, "ct up"),
        pytest.raises(InstanceBusy, match="project shop of this fleet runs alone under another"),
    ):
        _refuse_other_installs(together, fleet_home)
    # Neither runs now: both may start.
    _refuse_other_installs(together, fleet_home)
    _refuse_other_installs(alone, alone_home)
