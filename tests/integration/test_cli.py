"""The `ct` command line itself: `ct config`, every command's help, `--project` anywhere, and
no traceback from any command on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ct_assets.cli import COMMANDS
from tests.conftest import REPOSITORY

# -- errors --------------------------------------------------------------------------------------


def bad_inputs(tmp: Path) -> list[tuple[list[str], dict[str, str], int, str]]:
    """(command line, extra environment, exit status, what the message must name) of each
    case; the folders and files they name are made here."""
    from ct_assets.cli.processes import prepare_instance
    from ct_assets.project.load import load_project
    from resources.environments import resolve

    for name in ("empty", "notyaml", "badkey", "good"):
        (tmp / name).mkdir()
    shop = (REPOSITORY / "examples" / "shop" / "ct.yaml").read_text()
    (tmp / "notyaml" / "ct.yaml").write_text("name: [unclosed\n  x: :\n")
    (tmp / "badkey" / "ct.yaml").write_text(shop + "trainin: {window: 3}\n")
    (tmp / "good" / "ct.yaml").write_text(shop)
    # As `ct up` leaves it, before any file landed: its instance and registry are created.
    prepare_instance(resolve(load_project(tmp / "good", environ={})))
    rows = tmp / "rows.csv"  # every case fails before its rows are read
    rows.write_text("a,b\n1,2\n")
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "notes.txt").write_text("not a table\n")
    (tmp / "a_file").write_text("x\n")
    good, bad = ["--project", str(tmp / "good")], ["--project", str(tmp / "badkey")]
    production = {"CT_ENV": "production"}
    return [
        # No project, a project file that is no YAML, one with an unknown key.
        (["status"], {}, 1, "no ct.yaml in"),
        (["check", "--project", str(tmp / "notyaml")], {}, 1, "ct.yaml line 2: not valid YAML"),
        (["config", "--project", str(tmp / "notyaml")], {}, 1, "not valid YAML"),
        *[
            (
                [*command, *bad],
                {},
                1,
                "trainin: unknown key (did you mean 'training'?)",
            )
            for command in (
                ["check"],
                ["config"],
                ["up"],
                ["status"],
                ["models"],
                ["rollback"],
                ["serve"],
                ["predict", str(rows), "--out", str(tmp / "o.csv")],
                ["quarantine", "list"],
                ["features", "get", "c1"],
                ["lineage", "model", "1"],
            )
        ],
        # Usage errors.
        (["status", "--bogus"], {}, 2, "unrecognized arguments: --bogus"),
        (["serve", "--port", "http"], {}, 2, "'http' is not a port number"),
        (["up", "--port", "99999"], {}, 2, "99999 is not a port number"),
        (["up", "--env", "staging"], {}, 2, "invalid choice: 'staging'"),
        (["demo", "nosuch"], {}, 2, "invalid choice: 'nosuch'"),
        (["--project", str(tmp / "good"), "init", "--from", str(rows)], {}, 2, "no --project"),
        (["bogus"], {}, 2, "invalid choice: 'bogus'"),
        # Files that are missing, binary, empty or not a table.
        (["init", "--from", str(tmp / "missing.csv")], {}, 1, "missing.csv: no such file"),
        (["init", "--from", str(tmp / "binary.csv")], {}, 1, "binary.csv: a binary file"),
        (["init", "--from", str(tmp / "empty.csv")], {}, 1, "empty.csv: empty"),
        (["init", "--from", str(rows), "--out", str(tmp / "a_file" / "p")], {}, 1, "a_file is"),
        (["predict", str(tmp / "missing.csv"), "--out", "o.csv", *good], {}, 1, "missing.csv"),
        (["predict", str(tmp / "binary.csv"), "--out", "o.csv", *good], {}, 1, "encoding"),
        (["predict", str(tmp / "notes.txt"), "--out", "o.csv", *good], {}, 1, "notes.txt"),
        (["predict", str(rows), "--out", str(tmp / "no" / "o.csv"), *good], {}, 1, "no folder"),
        (["check", str(tmp / "binary.csv"), *good], {}, 1, "binary.csv: refused (encoding)"),
        (["config", "nokey", *good], {}, 1, "no key 'nokey'"),
        (["demo", "--dir", str(tmp / "a_file")], {}, 1, "not made by ct demo"),
        # Unknown names in an empty project (models lists none: not an error).
        (["models", *good], {}, 0, "no version registered yet"),
        (["rollback", *good], {}, 1, "no champion yet"),
        (["lineage", "model", "999", *good], {}, 1, "has no version 999"),
        (["lineage", "model", "v1", *good], {}, 1, "has no version v1"),
        (["lineage", "prediction", "r-nope", *good], {}, 1, "'r-nope'"),
        (["quarantine", "show", "b-nope", *good], {}, 1, "no quarantined batch 'b-nope'"),
        (["features", "get", "c-nope", *good], {}, 1, "for entity 'c-nope'"),
        # The environment: production without its variables, a home that is a file.
        (["status", *good], production, 1, "not set in the environment: CT_DATA_URL"),
        (["up", *good], production, 1, "environment production needs CT_DAGSTER"),
        (["serve", *good], production, 1, "not set in the environment: CT_ONLINE_STORE_URL"),
        (["lineage", "prediction", "r1", *good], production, 1, "production needs CT_DATA_URL"),
        (["models", *good], {"CT_HOME": str(tmp / "a_file")}, 1, "a file, not the folder"),
    ]


@pytest.mark.integration
def test_no_command_shows_a_traceback_on_bad_input(tmp_path: Path) -> None:
    cases = bad_inputs(tmp_path)
    assert {line[0] for line, *_ in cases} >= {*COMMANDS, "rollback"}
    outer = {
        k: v for k, v in os.environ.items() if not k.startswith(("CT_", "DAGSTER_", "MLFLOW_"))
    }

    def ct(line: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        # -m: the package's own entry, as the `ct` script runs it; a clean cwd with no ct.yaml.
        return subprocess.run(
            [sys.executable, "-m", "ct_assets.cli", *line],
            env={**outer, "COLUMNS": "200", **env},
            cwd=tmp_path / "empty",
            capture_output=True,
            text=True,
            timeout=120,
        )

    # Two at a time: each process spends most of its second or two importing.
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda case: ct(case[0], case[1]), cases))
    wrong = []
    for (line, _, status, named), result in zip(cases, done, strict=True):
        said = result.stdout + result.stderr
        errors = [e for e in result.stderr.splitlines() if e and " INFO " not in e]
        if (
            "Traceback" in said
            or result.returncode != status
            or named not in said
            or (status and len(errors) > 4)
        ):
            wrong.append(f"ct {' '.join(line)} -> {result.returncode}\n{said[-2000:]}")
    assert wrong == [], "\n\n".join(wrong)


@pytest.mark.integration
def test_commands_at_once_on_a_fresh_project_all_open_its_registry(tmp_path: Path) -> None:
    """Each process that opens a missing local MLflow store migrates it: at once, they must
    take turns, or all but one fail on MLflow's alembic version row."""
    store = tmp_path / "mlflow" / "mlflow.db"
    script = (
        "from resources.mlflow_registry import MlflowRegistry; "
        f"r = MlflowRegistry(tracking_uri='sqlite:///{store}', registered_model='m'); "
        "print(r.champion_version(), r.versions())"
    )
    opened = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    said = [process.communicate(timeout=120) for process in opened]
    assert [out.strip() for out, _ in said] == ["None []"] * 3, [err for _, err in said]


def test_the_command_line_is_built_without_importing_dagster() -> None:
    """`ct --help` and a usage error answer at once: Dagster is imported by commands that
    run it, inside their `run`."""
    script = (
        "import sys; from ct_assets.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'mlflow')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True
    )
    assert shown.stdout.strip() == "[]", shown.stderr
