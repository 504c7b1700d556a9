"""The project as users meet it: imports, the Definitions of any project, and the `dagster` CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from tests.conftest import REPOSITORY, START, generator, write_project


def test_loading_the_code_location_imports_no_training_or_monitoring_library(
    tmp_path: Path,
) -> None:
    # Every run worker, sensor tick and CLI call loads the definitions: seconds each on two
    # cores if they pulled in what only the training, scoring and drift steps use.
    root = write_project(tmp_path / "p").root
    heavy = ("lightgbm", "sklearn", "scipy", "matplotlib", "optuna", "mlflow", "evidently")
    probe = (
        "import sys, ct_assets.definitions as d; d.defs(); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPOSITORY,
        env={**os.environ, "CT_PROJECT": str(root)},
    )
    assert done.stdout.strip() == ""


def test_dagster_cli_materializes_a_partition_of_a_user_project(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    project = write_project(tmp_path / "energy", "energy")
    source = generator("energy").demo_source(START, 500)
    generator("energy").write_atomically(source.day(0), project.landing_dir / source.day_name(0))
    env = {**os.environ, "DAGSTER_HOME": str(home), "CT_PROJECT": str(project.root)}
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [
            *(str(dagster), "asset", "materialize", "-m", "ct_assets.definitions"),
            *("--select", "*", "--partition", START.isoformat()),
        ],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for asset in ("raw_batches", "production_model"):
            record = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert record is not None, asset
            assert record.dagster_event.partition == START.isoformat()  # type: ignore[union-attr]
    assert (project.data_dir / "production_model" / f"{START.isoformat()}.json").exists()
