"""The `ct.yaml` text of an inferred project: the declaration, with every guess explained.

Values are written by PyYAML (quoting whatever needs it); the layout and the comments are ours,
which PyYAML cannot write. The text is checked before it is returned: it must load back to the
very mapping inferred, and validate as a project.
"""

from __future__ import annotations

import sys
import textwrap
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import yaml

from ct_assets.ml.vocabulary import PRIMARY_METRICS, TASKS
from ct_assets.project.infer import MAX_CATEGORIES, Inference
from ct_assets.project.load import PROJECT_FILE, ProjectError, parse_spec
from ct_assets.project.spec import RETRAIN_TRIGGERS, ProjectSpec, Quality

WIDTH = 98
Path = tuple[Any, ...]

SECTION_NOTES = {
    "task": "What to predict, and the metric that ranks candidates and gates promotion.",
    "dataset": (
        "The data as each file delivers it. A row breaking a rule is set aside in quarantine "
        "with its line and reason while the rest of its file goes on; a file with more such "
        f"rows than quality.max_bad_row_share ({Quality().max_bad_row_share:.0%}), or that is "
        "broken as a whole (a missing column, cut short), is refused whole and kept there. "
        "`ct quarantine` lists both."
    ),
    "features": (
        "What the model reads: declared columns as they are (categories as codes), transforms "
        "of a row, and window features over each entity's earlier events."
    ),
    "partitions": (
        "Events fall into daily partitions by event time; start is the sample's earliest day."
    ),
    "training": (
        "Each run trains on the last `window` partitions; the latest rows are the holdout. Every "
        "family is trained on each of `windows` (partitions ending at the newest, and "
        "since_change: from where the champion's live performance broke) and the best on the "
        "holdout is the candidate: after a change the short windows win, in steady state the "
        "long one."
    ),
    "gates": (
        "A candidate replaces the champion only above the floors, by the margin over the "
        "champion's holdout metric, without losing more than the tolerance on any slice."
    ),
    "quality": (
        "What refuses a file or sets its rows aside: the share of rule-breaking rows a file may "
        "hold before it is refused whole, the share of nulls that refuses a column, whether "
        "rows repeating an earlier one are set aside, and (binary) the bounds on the rate of "
        "positives a batch's count is judged against."
    ),
    "serving": (
        "ct serve: where it listens (127.0.0.1: this machine only), rows per request, the "
        "latency past which the previous champion answers, the share of requests a new "
        "champion answers while on probation, and whether the challenger is scored beside it "
        "(logged, never returned)."
    ),
    "drift": (
        "Share of features that may drift before a partition is flagged. A day of week is "
        "constant within a daily partition: ct leaves it out of drift by itself."
    ),
    "freshness": "How long without a new file (sources) or a new model decision (model).",
    "policy": (
        "The policy in force, written out so that nothing deciding a retrain, a champion's fate "
        "or a rollback is invisible. Every partition is retrained (every_partition); whatever "
        "the triggers, a champion whose live metric is worse than its holdout figure by more than "
        "retrain.performance_margin is flagged red that day, one whose first live partitions "
        "miss its holdout by more than evaluation_gap is flagged and, by "
        "rollback.on_evaluation_gap, moved back when the one it replaced did better on the same "
        "rows."
    ),
    "sources": (
        "Files dropped here (a folder beside ct.yaml, or s3://bucket/prefix) are ingested. A "
        "Dagster asset of your own, in the same code location, is a source too: asset: <key>."
    ),
}


def choices(values: tuple[str, ...]) -> str:
    """A vocabulary as a side note spells it: `binary | regression`."""
    return " | ".join(values)


# Notes that list a vocabulary read it from where it is defined, so a new metric or trigger
# shows in ct init's comments without an edit here.
SIDE_NOTES: dict[Path, str] = {
    ("task", "type"): choices(TASKS),
    ("task", "metric"): "; ".join(
        f"{choices(metrics)} ({task})" for task, metrics in PRIMARY_METRICS.items()
    ),
    ("training", "split"): "time: the latest rows are the holdout",
    ("gates", "slices", "min_rows"): "fewer holdout rows in a slice: listed, not judged",
    ("training", "windows"): "candidates train on each; the best on the holdout wins",
    ("policy", "retrain", "triggers"): choices(RETRAIN_TRIGGERS),
    ("policy", "label_shift"): "a prior shift: Cohen's h of the label rate, or SDs of its mean",
    ("policy", "rollback", "baking", "partitions"): "a new champion's probation",
}
FORMAT_NOTE = (
    "How every file is written, found in the sample: one declaration read by ct check, ingest, "
    "ct predict and scoring (keys: delimiter, quote, decimal, thousands, encoding, bom, nulls, "
    "compression). A file written otherwise is refused naming what differs; a number written "
    "otherwise is refused, never read as another number."
)
RANGE_RULE = (
    "Types come from the sample. Ranges: a sample's exact min and max refuse the next day's "
    "data (a salary below day 1's minimum, say), and a sample without negatives does not show "
    "that none can come, so no column gets an upper bound, the label no bound at all, and a "
    "column only ge: 0, guessed where its name says a count or an amount (amount, price, "
    "n_items, age, duration, ...) or its values are whole numbers, none negative; each "
    "column's comment says which. Add bounds you know. Text with at most "
    f"{MAX_CATEGORIES} values, each in 2+ rows on average, is a category of the values seen "
    "(unseen: unknown encodes a new one instead of refusing it)."
)


class Notes:
    """Comment lines above a key, and a short comment beside it."""

    def __init__(self) -> None:
        self.above: dict[Path, list[str]] = defaultdict(list)
        self.side: dict[Path, str] = dict(SIDE_NOTES)

    def add(self, path: Path, text: str) -> None:
        self.above[path].append(text)


def render_yaml(inference: Inference) -> str:
    """The commented ct.yaml of `inference`; raises when it would not read back as inferred."""
    notes = _notes(inference)
    lines = _header(inference)
    for key, value in inference.spec.items():
        if key != "name":
            lines.append("")
        _emit({key: value}, (), 0, notes, lines)
    text = "\n".join(lines) + "\n"
    verify(text, inference.spec)
    return text


def verify(text: str, spec: Mapping[str, Any]) -> ProjectSpec:
    """The text loads back to `spec` and validates; otherwise ct init has a bug."""
    loaded = yaml.safe_load(text)
    if loaded != spec:
        raise RuntimeError(f"ct init wrote a {PROJECT_FILE} that reads back differently (a bug)")
    try:
        return parse_spec(text, PROJECT_FILE, {})
    except ProjectError as exc:
        raise RuntimeError(
            f"ct init wrote a {PROJECT_FILE} that does not validate (a bug): {exc}"
        ) from exc


# -- comments ----------------------------------------------------------------------------------


def _header(inference: Inference) -> list[str]:
    lines = [
        f"# ct project {inference.name}: written by `ct init` from {inference.sample}.",
        "# Every guess says why in a comment. Check the review notes, edit what is wrong, then",
        "# run `ct up` and copy files into landing/.",
    ]
    if inference.review:
        lines.append("#")
        for note in inference.review:
            lines.extend(_comment(f"review: {note}", ""))
    return lines


def _notes(inference: Inference) -> Notes:
    notes = Notes()
    for section, text in SECTION_NOTES.items():
        notes.add((section,), text)
    spec = inference.spec
    notes.add(("task", "type"), f"{inference.task.column}: {inference.task.reason}")
    if inference.positive is not None:
        notes.add(("task", "positive"), f"the positive class: {inference.positive.reason}")
    for role, guess in inference.roles.items():
        if guess.column is None:
            # A role without a column has no key to sit above: the roles say it.
            notes.add(("dataset", "roles"), f"{role}: none: {guess.reason}")
        else:
            notes.add(("dataset", "roles", role), guess.reason)
    columns = ("dataset", "columns")
    notes.above[columns].append(RANGE_RULE)
    for name, reason in inference.columns.items():
        kind = spec["dataset"]["columns"][name]["type"]
        roles = [r for r, g in inference.roles.items() if g.column == name]
        suffix = f" (the {roles[0]})" if roles else ""
        if name in inference.left_out:
            suffix += f"; not a feature: {inference.left_out[name]}"
        notes.add((*columns, name), f"{kind}: {reason}{suffix}")
    notes.add(("features", "columns"), "every int, float, bool and category column not a role")
    if inference.left_out:
        notes.add(("features", "columns"), "left out: " + ", ".join(inference.left_out))
    notes.add(("features", "transforms"), inference.transforms)
    if "windows" in spec["features"]:
        notes.add(("features", "windows"), inference.windows)
    else:
        notes.add(("features",), f"windows: none: {inference.windows}")
    notes.add(("dataset", "format"), FORMAT_NOTE)
    for key, reason in inference.format_reasons.items():
        if key in spec["dataset"].get("format", {}):
            notes.side[("dataset", "format", key)] = reason
    notes.add(("gates", "slices", "columns"), inference.slices_reason)
    quality = spec.get("quality", {})
    if inference.balance:
        notes.add(("quality",), inference.balance)
    if quality.get("duplicate_rows") == "keep":
        notes.add(
            ("quality", "duplicate_rows"),
            f"keep: {inference.repeated_rows:,} rows of the sample repeat an earlier one in "
            "every column, so this data repeats rows; refuse would set each copy aside",
        )
    return notes


def _comment(text: str, pad: str) -> list[str]:
    width = max(40, WIDTH - len(pad) - 2)
    wrapped = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return [f"{pad}# {line}" for line in wrapped]


# -- YAML --------------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    """One value in YAML flow style, quoted where plain text would read back otherwise."""
    text = yaml.safe_dump(
        value, default_flow_style=True, width=sys.maxsize, allow_unicode=True, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _flow(path: Path, value: Any) -> bool:
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    if not isinstance(value, dict) or not value:
        return True
    if path[:2] == ("dataset", "columns"):
        return len(path) >= 3
    return path[0] == "freshness" and len(path) == 2


def _emit(node: Mapping[str, Any], path: Path, depth: int, notes: Notes, out: list[str]) -> None:
    pad = "  " * depth
    for key, value in node.items():
        here = (*path, key)
        for text in notes.above.get(here, []):
            out.extend(_comment(text, pad))
        side = f"  # {notes.side[here]}" if here in notes.side else ""
        head = f"{pad}{_scalar(key)}:"
        line = f"{head} {_scalar(value)}{side}" if _flow(here, value) else ""
        if line and len(line) <= WIDTH:
            out.append(line)
        elif line and not isinstance(value, list | dict):
            # A scalar whose note does not fit beside it: the note goes above.
            if side:
                out.extend(_comment(notes.side[here], pad))
            out.append(f"{head} {_scalar(value)}")
        elif line and isinstance(value, list):
            out.extend(_wrapped(head, value, pad + "    ", side))
        elif isinstance(value, list):
            out.append(head + side)
            out.extend(f"{pad}  - {_scalar(item)}" for item in value)
        else:
            out.append(head + side)
            _emit(value, here, depth + 1, notes, out)


def _wrapped(head: str, values: list[Any], pad: str, side: str) -> list[str]:
    """A long flow list over several lines (YAML reads on until the closing bracket)."""
    items = [_scalar(v) for v in values]
    lines, line = [], f"{head} ["
    for i, item in enumerate(items):
        piece = item + ("]" if i == len(items) - 1 else ",")
        if len(line) + 1 + len(piece) > WIDTH and not line.endswith("["):
            lines.append(line)
            line = pad + piece
        else:
            line += ("" if line.endswith("[") else " ") + piece
    lines.append(line + side)
    return lines
