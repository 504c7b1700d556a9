"""Unit tests of ct_assets/cli/__init__.py (the `ct` command line).

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import ct_assets.cli.config
from ct_assets.cli import COMMANDS, build_parser, main
from tests.helpers.project_file import BAD


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


@pytest.mark.parametrize("path", [p for p in PATHS if runnable(p)], ids=" ".join)
def test_fleet_is_taken_wherever_project_is(path: tuple[str, ...]) -> None:
    parser = build_parser()
    line = [*path, *REQUIRED.get(path, [])]
    if not getattr(parser.parse_args(line), "takes_project", False):
        with pytest.raises(SystemExit) as refused:
            parser.parse_args([*line, "--fleet", "after"])
        assert refused.value.code == 2
        return
    assert parser.parse_args(line).fleet is None
    assert parser.parse_args(["--fleet", "before", *line]).fleet == "before"
    both = parser.parse_args([*line, "--fleet", "after", "--project", "churn"])
    assert (both.fleet, both.project) == ("after", "churn")
    assert parser.parse_args(["--fleet", "x", *line, "--fleet", "y"]).fleet == "y"


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


@pytest.mark.parametrize("command", ["check", "status", "up"])
def test_a_refused_project_file_leaves_nothing_written(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ct.yaml").write_text(BAD[2][1])
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([command, "--project", str(tmp_path)]) == 1
    assert "dataset.roles.label: 'fraud' is not a declared column" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "ct.yaml").read_text() == BAD[2][1]


def test_ct_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"ct {version('ct')}"
