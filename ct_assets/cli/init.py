"""`ct init --from FILE`: a runnable project guessed from a sample of the data.

Reads the sample (at most `MAX_ROWS` rows), infers the declaration (`project.infer`), writes the
commented ct.yaml (`project.render`) with an empty landing/ folder and a .gitignore, and prints
every guess with its reason. Where it cannot decide, it writes nothing and names the flag to pass.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ct_assets.cli import command_parser
from ct_assets.project.load import HOME_DIR, PROJECT_FILE, ProjectError

if TYPE_CHECKING:
    from ct_assets.project.infer import AmbiguousDates, Inference

# A sample this long shows the types and value sets; more rows only cost time and memory.
MAX_ROWS = 200_000
LANDING = "landing"


def register(subparsers: Any) -> None:
    parser = command_parser(
        subparsers,
        "init",
        summary="create a project (ct.yaml) from a sample of the data",
        description="""Infer a project from a sample file: column types, the label, event
        time, entity and event id, the task, features and gates. Every guess is written with
        its reason; pass a flag where the sample does not decide.""",
        examples=[
            "ct init --from exports/day-1.csv --label churned --out proj",
            "ct init --from export_eu.csv --dates day-first   # 05/03/2026 is 5 March",
        ],
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        required=True,
        help="a sample: delimited text (.csv, .tsv, .txt), JSON Lines or a JSON array, gzip "
        f"or not, or Parquet; at most {MAX_ROWS:,} rows are read",
    )
    parser.add_argument("--label", metavar="COL", help="the column to predict")
    parser.add_argument("--time", metavar="COL", help="the event-time column")
    parser.add_argument("--entity", metavar="COL", help="whose history window features use")
    parser.add_argument("--task", choices=("binary", "regression"), help="default: from the label")
    parser.add_argument(
        "--dates",
        choices=("day-first", "month-first"),
        help="how dates such as 05/03/2026 read when no day in the sample is above 12 "
        "(asked when run in a terminal, else required then)",
    )
    parser.add_argument("--out", metavar="DIR", default=".", help="the project folder (default: .)")
    parser.add_argument("--name", help="the project name (default: the folder's name)")
    parser.add_argument("--force", action="store_true", help="replace an existing ct.yaml")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: pandas and the project models cost `ct --help` a second it need not pay.
    from ct_assets.project.infer import AmbiguousDates, InitOptions, infer_project, project_name
    from ct_assets.project.render import render_yaml
    from ct_assets.project.sample import read_sample

    out = Path(args.out)
    if out.name == PROJECT_FILE and not out.is_dir():
        out = out.parent  # `--out proj/ct.yaml`: the file's folder is the project
    blocked = not_a_folder(out)
    if blocked is not None:
        where = "" if blocked == out else f" ({blocked} is one)"
        raise ProjectError(f"--out {out}: a file, not a folder{where}: name the project's folder")
    target = out / PROJECT_FILE
    if target.exists() and not args.force:
        raise ProjectError(_exists(target))
    sample = read_sample(Path(args.source), MAX_ROWS)
    options = InitOptions(
        label=args.label,
        time=args.time,
        entity=args.entity,
        task=args.task,
        name=project_name(args.name or out.resolve().name),
        dates=args.dates,
    )
    try:
        inference = infer_project(sample, options)
    except AmbiguousDates as question:
        if not sys.stdin.isatty():
            raise
        options = dataclasses.replace(options, dates=ask_date_order(question))
        inference = infer_project(sample, options)
    text = render_yaml(inference)
    written = write_project(out, text, force=args.force)
    print(summary(inference, out, written))
    return 0


def ask_date_order(question: AmbiguousDates) -> str:
    """The user's answer to a date that reads both ways; asked, never guessed."""
    day, month = question.formats
    print(
        f"column {question.column}: is {question.example!r} written {day} (day first) or "
        f"{month} (month first)? No day in the sample is above 12.",
        file=sys.stderr,
    )
    while True:
        answer = input("day first or month first? [d/m] ").strip().lower()
        if answer in ("d", "day", "day-first"):
            return "day-first"
        if answer in ("m", "month", "month-first"):
            return "month-first"


def not_a_folder(out: Path) -> Path | None:
    """The file in the way of making `out` a folder: `out` itself, or the first of its
    parents that exists when it is not a folder; None when nothing is in the way."""
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None


def _exists(target: Path) -> str:
    return (
        f"{target} exists: ct init does not overwrite it; pass --force to replace it, or "
        "--out DIR for another folder"
    )


# -- writing the project -----------------------------------------------------------------------


def write_project(out: Path, text: str, force: bool) -> list[Path]:
    """ct.yaml (atomically, last, and never over one without `force`), landing/, .gitignore."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    landing = out / LANDING
    if not landing.is_dir():
        landing.mkdir()
        # git keeps no empty folder; the landing sensor skips dotfiles.
        (landing / ".gitkeep").touch()
        written.append(landing)
    ignore = out / ".gitignore"
    entry = f"{HOME_DIR}/"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    if entry not in lines and HOME_DIR not in lines:
        _write_atomically(ignore, "".join(f"{line}\n" for line in [*lines, entry]), force=True)
        written.append(ignore)
    _write_atomically(out / PROJECT_FILE, text, force=force)
    return [out / PROJECT_FILE, *written]


def _write_atomically(target: Path, text: str, force: bool) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        if force:
            os.replace(temporary, target)
        else:
            # A link fails if a ct.yaml appeared since the check: one is never replaced.
            os.link(temporary, target)
    except FileExistsError:
        raise ProjectError(_exists(target)) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


# -- what it says ------------------------------------------------------------------------------


def summary(
    inference: Inference, out: Path, written: list[Path], next_step: str | None = None
) -> str:
    from ct_assets.project.infer import shown_value

    lines = [f"ct init: read {inference.sample}", "roles:"]
    width = max(len(str(g.column or "-")) for g in inference.roles.values())
    for role, guess in inference.roles.items():
        lines.append(f"  {role:<10}  {guess.column or '-':<{width}}  {guess.reason}")
    task = f"task: {inference.task.column} ({inference.task.reason})"
    if inference.positive is not None:
        task += f"; positive {shown_value(inference.positive.column)}: {inference.positive.reason}"
    lines.append(task)
    features = inference.spec["features"]
    lines.append(f"features ({len(inference.features)}): {', '.join(inference.features) or '-'}")
    made = ", ".join(t["name"] for t in features["transforms"])
    lines.append(f"  transforms: {made} ({inference.transforms})")
    lines.append(f"  windows: {inference.windows}")
    if inference.left_out:
        lines.append("left out:")
        lines.extend(f"  {name}: {why}" for name, why in inference.left_out.items())
    chosen = ", ".join(inference.slices) or "-"
    lines.append(f"slices: {chosen} ({inference.slices_reason})")
    if inference.review:
        lines.append("review:")
        lines.extend(f"  - {note}" for note in inference.review)
    lines.append("wrote " + ", ".join(_path(p) for p in written))
    folder = shlex.quote(str(out))
    landing = _path(out / LANDING)
    lines.append(next_step or f"next: cd {folder} && ct up   then copy data files into {landing}")
    return "\n".join(lines)


def _path(path: Path) -> str:
    return f"{path}/" if path.is_dir() else str(path)
