"""The `ct` command line itself: `ct config`, every command's help, `--project` anywhere, and
no traceback from any command on bad input."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

import ct_assets.cli.config
from ct_assets.cli import COMMANDS, build_parser, main
from ct_assets.cli.config import MAX_VALUE_WIDTH
from ct_assets.project.load import given_at, masked

REPOSITORY = Path(__file__).resolve().parent.parent
# Line numbers matter: the test reads them back from `ct config`.
TINY = """\
name: tiny
task: binary
dataset:
  roles: {label: y, event_time: t}
  columns:
    t: {type: datetime}
    x: {type: float, checks: {ge: 0}}
    y: {type: int, checks: {isin: [0, 1]}}
features:
  columns: [x]
training:
  window: 4
  holdout_fraction: 0.3
gates:
  margin: 1%
"""


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small project; no CT_* variable of the outer environment leaks into it."""
    for variable in [v for v in os.environ if v.startswith("CT_")]:
        monkeypatch.delenv(variable)
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "ct.yaml").write_text(TINY)
    return root


def config_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, object]]:
    assert main(["config", *args, "--json"]) == 0
    shown: dict[str, dict[str, object]] = json.loads(capsys.readouterr().out)
    return shown


# -- ct config -----------------------------------------------------------------------------------


def test_ct_config_names_where_each_value_comes_from(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CT_TRAINING_WINDOW", "9")
    shown = config_json(capsys, "--project", str(tiny))
    assert shown["name"] == {"value": "tiny", "origin": "ct.yaml:1"}
    # A shorthand (`task: binary`) gives the key it names; the rest of the section is default.
    assert shown["task.type"] == {"value": "binary", "origin": "ct.yaml:2"}
    assert shown["task.positive"] == {"value": None, "origin": "default"}
    assert shown["dataset.columns.x.checks.ge"] == {"value": 0.0, "origin": "ct.yaml:7"}
    assert shown["dataset.columns.x.checks.le"] == {"value": None, "origin": "default"}
    assert shown["dataset.columns.y.checks.isin"] == {"value": [0, 1], "origin": "ct.yaml:8"}
    assert shown["features.columns"] == {"value": ["x"], "origin": "ct.yaml:10"}
    assert shown["training.window"] == {"value": 9, "origin": "env CT_TRAINING_WINDOW"}
    assert shown["training.holdout_fraction"] == {"value": 0.3, "origin": "ct.yaml:13"}
    assert shown["training.seed"] == {"value": 0, "origin": "default"}
    # A threshold is one value, written as the file writes it.
    assert shown["gates.margin"] == {"value": "1%", "origin": "ct.yaml:15"}
    assert shown["runs.max_concurrent"] == {"value": 4, "origin": "default"}
    origins = {str(s["origin"]) for s in shown.values()}
    assert origins <= {"default", "env CT_TRAINING_WINDOW"} | {f"ct.yaml:{n}" for n in range(1, 16)}


def test_ct_config_shows_only_the_keys_under_a_prefix_in_aligned_columns(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "training", "--project", str(tiny)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("training.") for line in lines)
    window = next(line for line in lines if line.startswith("training.window "))
    assert window.split() == ["training.window", "4", "ct.yaml:12"]
    # Values up to the width of the column: their origins start at one place.
    rows = [re.fullmatch(r"(\S+) +(.+?) +(default|ct\.yaml:\d+)", line) for line in lines]
    assert all(rows)
    starts = {row.start(3) for row in rows if row and len(row[2]) <= MAX_VALUE_WIDTH}
    assert len(starts) == 1 and len(rows) > 3
    # A prefix is whole parts of the key: `gates.margin` is not `gates.margin_of_anything`.
    assert list(config_json(capsys, "gates.margin", "--project", str(tiny))) == ["gates.margin"]
    assert "runs.training" not in config_json(capsys, "training", "--project", str(tiny))


def test_ct_config_refuses_an_unknown_key_with_the_one_meant(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "trainin", "--project", str(tiny)]) == 1
    error = capsys.readouterr().err.strip()
    assert error == "ct config: no key 'trainin' in the configuration (did you mean 'training'?)"


def test_ct_config_shows_a_secret_s_variable_name_never_its_value(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CT_SOURCES", "http_api")
    monkeypatch.setenv("CT_HTTP_TOKEN", "s3cr3t-t0ken")
    monkeypatch.setenv("CT_HTTP_URL", "https://user:hunter2@api.example.com/events")
    assert main(["config", "sources", "--project", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "CT_HTTP_TOKEN" in out and "s3cr3t" not in out and "hunter2" not in out


def test_a_secret_value_is_masked_and_a_variable_name_is_not() -> None:
    assert masked(("sources", "landing"), "s3://key:sekret@bucket/in") == "s3://key:***@bucket/in"
    assert masked(("sources", "landing"), "s3://bucket/in") == "s3://bucket/in"
    assert masked(("sources", "http_api", "token"), "abc123") == "***"
    assert masked(("sources", "sql", "password"), "abc123") == "***"
    assert masked(("sources", "http_api", "token_env"), "CT_HTTP_TOKEN") == "CT_HTTP_TOKEN"
    assert masked(("training", "window"), 3) == 3


def test_a_key_given_through_a_yaml_merge_is_found_at_its_line() -> None:
    text = "base: &b\n  x: 1\n  y: 2\nchild:\n  <<: *b\n  y: 3\n"
    node = yaml.compose(text)
    assert given_at(node, ("child", "x")) == (2, 2)
    assert given_at(node, ("child", "y")) == (6, 2)
    assert given_at(node, ("child", "z")) is None
    # A plain value where the model has structure: the shorthand's key, and how deep it goes.
    assert given_at(node, ("base", "x", "value")) == (2, 2)


# -- help ------------------------------------------------------------------------------------------


def command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and subcommand of `ct` with its parser, parents first."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(((*prefix, name), sub))
                found.extend(command_paths(sub, (*prefix, name)))
    return found


PATHS = [path for path, _ in command_paths(build_parser())]


def test_every_module_in_commands_is_a_command() -> None:
    assert set(COMMANDS) <= {path[0] for path in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_s_help_has_a_description_and_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    usage, description, *_ = shown.split("\n\n")
    assert usage.startswith(f"usage: ct {' '.join(path)}")
    # A paragraph, not an option list: several words, ending as a sentence ends.
    assert len(description.split()) >= 12 and description.rstrip().endswith((".", ")"))
    example = shown[shown.index("\nExample") + 1 :].splitlines()
    assert example[0] in ("Example:", "Examples:")
    assert example[1].startswith(f"  ct {path[0]}")


# -- --project anywhere ----------------------------------------------------------------------------

# What each command needs besides --project to parse.
REQUIRED = {
    ("init",): ["--from", "sample.csv"],
    ("predict",): ["rows.csv", "--out", "scored.csv"],
    ("features", "get"): ["c1"],
    ("lineage", "model"): ["7"],
    ("lineage", "prediction"): ["r1"],
    ("quarantine", "show"): ["b1"],
    ("quarantine", "readmit"): ["b1"],
}


def runnable(path: tuple[str, ...]) -> bool:
    """A command that runs, as opposed to one that only groups subcommands."""
    return not any(other[: len(path)] == path and other != path for other in PATHS)


@pytest.mark.parametrize("path", [p for p in PATHS if runnable(p)], ids=" ".join)
def test_project_is_taken_before_or_after_the_command(path: tuple[str, ...]) -> None:
    parser = build_parser()
    line = [*path, *REQUIRED.get(path, [])]
    if not getattr(parser.parse_args(line), "takes_project", False):
        # init and demo: their folder is --out or --dir.
        with pytest.raises(SystemExit) as refused:
            parser.parse_args([*line, "--project", "after"])
        assert refused.value.code == 2
        return
    assert parser.parse_args(["--project", "before", *line]).project == "before"
    assert parser.parse_args([*line, "--project", "after"]).project == "after"
    assert parser.parse_args([*line, "--project=eq"]).project == "eq"
    # Given twice, the one after the command wins.
    assert parser.parse_args(["--project", "x", *line, "--project", "y"]).project == "y"
    # And right after a command's name, before its subcommand.
    if len(path) > 1:
        moved = [path[0], "--project", "mid", *line[1:]]
        assert parser.parse_args(moved).project == "mid"


def test_a_project_given_before_the_command_is_the_one_read(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no ct.yaml here
    assert main(["--project", str(tiny), "config", "name"]) == 0
    assert capsys.readouterr().out.split() == ["name", "tiny", "ct.yaml:1"]
    assert main(["config", "name"]) == 1
    assert "no ct.yaml in" in capsys.readouterr().err


def test_project_before_a_command_that_takes_none_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--project", "somewhere", "init", "--from", "sample.csv"])
    assert done.value.code == 2
    assert "ct init takes no --project" in capsys.readouterr().err


# -- errors --------------------------------------------------------------------------------------


def failing(exc: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        raise exc

    return run


def test_an_unexpected_error_is_one_line_and_ct_debug_shows_its_traceback(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ct_assets.cli.config, "run", failing(OSError("disk gone\nmore detail")))
    assert main(["config", "--project", str(tiny)]) == 1
    error = capsys.readouterr().err
    assert error == "ct config: OSError: disk gone ... (CT_DEBUG=1 shows the traceback)\n"
    monkeypatch.setenv("CT_DEBUG", "1")
    with pytest.raises(OSError, match="disk gone"):
        main(["config", "--project", str(tiny)])


def test_ctrl_c_exits_130_quietly(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ct_assets.cli.config, "run", failing(KeyboardInterrupt()))
    assert main(["config", "--project", str(tiny)]) == 130
    assert capsys.readouterr() == ("", "")


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
