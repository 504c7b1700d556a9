"""ct as a Dagster Component in a user's own project, made and driven by Dagster's own tools.

Each test makes a fresh project with `create-dagster project` (no network: no `uv sync`; `dg` and
Dagster run from this environment, where ct is installed, as they would from the user's), gives
it an asset of the user's own, then scaffolds ct into it with `dg scaffold defs` and loads it
with `dg check defs` (which runs `dagster definitions validate`) and `dg list defs`, on an
instance of the user's (DAGSTER_HOME), never ct's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml

from examples.energy.generator import MeterSource
from examples.shop.generator import DriftingSource
from tests.helpers.cli import TINY

COMPONENT = "ct_assets.component.ContinuousTraining"
USER_ASSET = '''"""The user's own asset, beside ct's: their ETL's table of orders."""

from pathlib import Path

import dagster as dg
import pandas as pd

EXPORT = Path(__file__).resolve().parents[3] / "data" / "churn.csv"


@dg.asset
def orders() -> pd.DataFrame:
    """Today's orders, as the user's own pipeline makes them (here: read from an export)."""
    return pd.read_csv(EXPORT) if EXPORT.exists() else pd.DataFrame()
'''


@dataclass(frozen=True)
class UserProject:
    root: Path
    env: dict[str, str]

    @property
    def defs(self) -> Path:
        return self.root / "src" / self.root.name / "defs"

    def tool(self, name: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """A command of this environment (dg, dagster, ct) run in the user's project, on their
        instance."""
        done = subprocess.run(
            [str(Path(sys.executable).parent / name), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def dg(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.tool("dg", *args, ok=ok)

    def dagster(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.tool("dagster", *args)

    def definitions(self) -> dict[str, Any]:
        listed: dict[str, Any] = json.loads(self.dg("list", "defs", "--json").stdout)
        return listed


@pytest.fixture
def user_project(tmp_path: Path) -> UserProject:
    """A project as `create-dagster project` makes it, with one asset of the user's own."""
    bin_dir = Path(sys.executable).parent
    home = tmp_path / "dagster_home"  # the user's instance
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CT_", "DAGSTER_"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(bin_dir.parent),
        "DAGSTER_HOME": str(home),
        # No network here: no check for a newer create-dagster on the package index.
        "DAGSTER_DG_UPDATE_CHECK_ENABLED": "0",
    }
    made = subprocess.run(
        [str(bin_dir / "create-dagster"), "project", "shop_app", "--no-uv-sync"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    root = tmp_path / "shop_app"
    # The user's package as their `uv sync` would install it: importable from its src/.
    path = os.pathsep.join([str(root / "src"), *filter(None, [env.get("PYTHONPATH")])])
    project = UserProject(root, {**env, "PYTHONPATH": path})
    (project.defs / "orders.py").write_text(USER_ASSET)
    (root / "data").mkdir()
    return project


def shop_sample(path: Path, rows: int = 600) -> Path:
    DriftingSource(date(2026, 11, 1), rows_per_day=rows).day(0).to_csv(path, index=False)
    return path


def energy_sample(path: Path) -> Path:
    MeterSource(date(2026, 11, 1), rows_per_day=600).day(0).to_csv(path, index=False)
    return path


def indented(spec: str) -> str:
    """A ct.yaml's text as the value of `spec:` in a defs.yaml."""
    return textwrap.indent(spec, "    ")


def keys(listed: dict[str, Any]) -> set[str]:
    return {asset["asset_key"] for asset in listed["assets"]}


def test_a_user_scaffolds_ct_into_their_project_and_it_loads_beside_their_asset(
    user_project: UserProject,
) -> None:
    listed = json.loads(user_project.dg("list", "components", "--json").stdout)
    assert COMPONENT in {item["key"] for item in listed["items"]}

    shop_sample(user_project.root / "data" / "churn.csv")
    params = json.dumps({"sample": "data/churn.csv", "label": "label"})
    scaffolded = user_project.dg("scaffold", "defs", COMPONENT, "churn", "--json-params", params)
    assert "task: binary" in scaffolded.stdout  # ct init's account of its guesses
    churn = user_project.defs / "churn"
    assert (churn / "defs.yaml").read_text().endswith("project: ct.yaml\n")
    assert (churn / "ct.yaml").is_file() and (churn / "landing").is_dir()

    checked = user_project.dg("check", "defs")
    assert "All definitions loaded successfully." in checked.stdout
    found = user_project.definitions()
    assert "orders" in keys(found)  # the user's own asset, as they wrote it
    ct_keys = keys(found) - {"orders"}
    assert {"churn/raw_batches", "churn/production_model", "churn/sources/file_drop"} <= ct_keys
    assert all(key.startswith("churn/") for key in ct_keys), ct_keys


def test_a_users_own_asset_feeds_ct_through_one_lineage_graph(user_project: UserProject) -> None:
    """`sources.asset: orders`: each materialization of the user's asset is a raw batch of the
    project, with lineage from their ETL through ct's stages."""
    sample = shop_sample(user_project.root / "data" / "churn.csv")
    params = json.dumps({"sample": "data/churn.csv", "label": "label"})
    user_project.dg("scaffold", "defs", COMPONENT, "churn", "--json-params", params)
    declared = user_project.defs / "churn" / "ct.yaml"
    spec = yaml.safe_load(declared.read_text())
    spec["sources"] = {**spec.get("sources", {}), "asset": "orders"}
    declared.write_text(yaml.safe_dump(spec, sort_keys=False))

    assert "All definitions loaded successfully." in user_project.dg("check", "defs").stdout
    module = ["-m", f"{user_project.root.name}.definitions"]
    validated = user_project.dagster("definitions", "validate", *module)
    assert "Validation successful" in validated.stdout + validated.stderr
    listed = {a["asset_key"]: a for a in user_project.definitions()["assets"]}
    assert "orders" in listed["churn/raw_batches"]["dependency_keys"]

    # Their ETL runs; ct's sensor takes its output as a batch and asks for the raw partition.
    user_project.dagster("asset", "materialize", *module, "--select", "orders")
    preview = user_project.dagster("sensor", "preview", "churn__dagster_asset_sensor", *module)
    day = str(pd.read_csv(sample)[spec["dataset"]["roles"]["event_time"]].min())[:10]
    # One raw run for the day the orders are of (preview prints each request's run config).
    assert "run requests for 1 run(s)" in preview.stdout, preview.stdout
    user_project.dagster(
        "asset", "materialize", *module, "--select", "churn/raw_batches", "--partition", day
    )
    with dg.DagsterInstance.from_config(user_project.env["DAGSTER_HOME"]) as instance:
        raw = instance.get_latest_materialization_event(dg.AssetKey(["churn", "raw_batches"]))
        assert raw is not None and raw.asset_materialization is not None
        metadata = raw.asset_materialization.metadata
        assert metadata["sources"].value == "dagster_asset"
        assert int(metadata["dagster/row_count"].value) == 1  # one batch: the materialization
    # Its rows are validated against the project's declaration like any delivery's.
    user_project.dagster(
        "asset", "materialize", *module, "--select", "churn/validated_batches", "--partition", day
    )
    with dg.DagsterInstance.from_config(user_project.env["DAGSTER_HOME"]) as instance:
        valid = instance.get_latest_materialization_event(
            dg.AssetKey(["churn", "validated_batches"])
        )
        assert valid is not None and valid.asset_materialization is not None
        rows = int(valid.asset_materialization.metadata["dagster/row_count"].value)
        assert rows == len(pd.read_csv(sample))
    # ct's commands read the user's project as a fleet: its ct.yaml files, their instance.
    shown = user_project.tool("ct", "status", "--fleet", str(user_project.root), "--json")
    (row,) = json.loads(shown.stdout)["projects"]
    assert (row["project"], row["task"], row["champion"]) == ("churn", "binary", None)


def test_two_projects_in_one_defs_folder_load_side_by_side(user_project: UserProject) -> None:
    shop_sample(user_project.root / "data" / "churn.csv")
    energy_sample(user_project.root / "data" / "load.csv")
    user_project.dg(
        "scaffold", "defs", COMPONENT, "churn", "--json-params", '{"sample": "data/churn.csv"}'
    )
    # The scaffolder's parameters are typed options too.
    user_project.dg(
        "scaffold", "defs", COMPONENT, "load", "--sample", "data/load.csv", "--label", "load_kwh"
    )
    # A third, declared inline rather than in a ct.yaml.
    inline = user_project.defs / "tiny"
    inline.mkdir()
    (inline / "defs.yaml").write_text(f"type: {COMPONENT}\nattributes:\n  spec:\n{indented(TINY)}")

    user_project.dg("check", "defs")
    found = user_project.definitions()
    projects = ("churn", "load", "tiny")
    for project in projects:
        assert f"{project}/raw_batches" in keys(found)
    assert all(k == "orders" or k.split("/")[0] in projects for k in keys(found))
    for kind in ("sensors", "jobs", "schedules", "resources"):
        names = [item["name"] for item in found[kind]]
        bare = [n for n in names if not n.startswith(tuple(f"{p}__" for p in projects))]
        assert bare == [], (kind, bare)


def test_a_wrong_value_in_an_inline_spec_is_one_line_naming_defs_yaml_and_the_key(
    user_project: UserProject,
) -> None:
    folder = user_project.defs / "tiny"
    folder.mkdir()
    text = f"type: {COMPONENT}\nattributes:\n  spec:\n" + indented(
        TINY.replace("window: 4", "window: four")
    )
    (folder / "defs.yaml").write_text(text)
    line = text.splitlines().index("      window: four") + 1

    checked = user_project.dg("check", "defs", ok=False)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 1, output
    where = "src/shop_app/defs/tiny/defs.yaml"
    assert f"{where} line {line}: training.window: expected a whole number, got 'four'" in output
    # The message is the whole story: none of ct's reader's frames follow it.
    assert "ct_assets/project" not in output, output
