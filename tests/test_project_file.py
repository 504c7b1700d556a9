"""ct.yaml: typed, validated once, every error naming its key; defaults < file < CT_*."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ct_assets.cli import main
from ct_assets.project.load import (
    ENV_OVERRIDES,
    ProjectError,
    find_root,
    key_line,
    load_project,
    parse_spec,
)
from ct_assets.project.spec import parse_duration
from tests.conftest import EXAMPLES, REPOSITORY, write_project

SHOP = (EXAMPLES / "shop" / "ct.yaml").read_text()


def edited(old: str, new: str) -> str:
    assert SHOP.count(old) == 1, old
    return SHOP.replace(old, new)


# Each: (what is wrong, the edited file, what the error must say).
BAD = [
    (
        "unknown key, with a did-you-mean",
        edited("  window: 3 ", "  windw: 3 "),
        "line 47: training.windw: unknown key (did you mean 'window'?)",
    ),
    (
        "a check given the wrong type",
        edited("amount: {type: float, checks: {ge: 0}", "amount: {type: float, checks: {ge: ten}"),
        "dataset.columns.amount.checks.ge: expected a number, got 'ten'",
    ),
    (
        "the label is not a column",
        edited("    label: label  ", "    label: fraud  "),
        "dataset.roles.label: 'fraud' is not a declared column",
    ),
    (
        "a role on a missing column",
        edited("entity: entity_id  ", "entity: customer  "),
        "dataset.roles.entity: 'customer' is not a declared column",
    ),
    (
        "a check that does not fit the column's type",
        edited("n_items: {type: int, checks: {ge: 1}}", "n_items: {type: int, checks: {regex: x}}"),
        "dataset.columns.n_items: checks.regex fits a string or category column, not an int one",
    ),
    (
        "a window feature on a string",
        edited(
            "- {column: amount, aggregations: [last", "- {column: event_id, aggregations: [last"
        ),
        "features.windows.aggregates[1].column: a window feature aggregates a numeric column; "
        "'event_id' is a string column",
    ),
    (
        "an unknown task",
        edited("type: binary ", "type: multiclass "),
        "task.type: expected 'binary', 'regression', got 'multiclass'",
    ),
    (
        "a literal secret",
        edited(
            "  landing: landing ",
            "  sql: {url: 'postgresql://ct:hunter2@db/shop'}\n  landing: landing ",
        ),
        "sources.sql.url: a literal URL does not belong in ct.yaml; set it in the environment "
        "variable CT_SQL_URL and name that variable here: url_env: CT_SQL_URL",
    ),
    (
        "a bad duration",
        edited("  poll_interval: 2s", "  poll_interval: soon"),
        "sources.poll_interval: 'soon' is not a duration such as 30s, 15m, 26h, 7d or 2w",
    ),
    (
        "a slice column not declared",
        edited("columns: [channel, country], min_rows", "columns: [channel, region], min_rows"),
        "gates.slices.columns[1]: 'region' is not a declared column",
    ),
    (
        "a floor on a metric of the other task",
        edited('floors: ["roc_auc >= 0.6"]', 'floors: ["rmse <= 3"]'),
        "gates.floors[0]: 'rmse' is not a binary metric",
    ),
    (
        "a transform of an unknown kind",
        edited("op: log1p, column: amount", "op: sqrt, column: amount"),
        "features.transforms[0]: unknown transform op 'sqrt'",
    ),
    (
        "a feature that is the label",
        edited("columns: [n_items, channel, country]", "columns: [n_items, channel, label]"),
        "features.columns[2]: 'label' is the label; a model does not read it",
    ),
    (
        "not YAML at all",
        edited("name: shop", "name: [shop"),
        "not valid YAML",
    ),
    (
        "a section given twice: YAML would keep the second whole",
        SHOP + "training:\n  seed: 3\n",
        "training: given twice (first on line 46); YAML keeps only the last",
    ),
    (
        "a key given twice inside a section",
        edited("  window: 3 ", "  window: 3\n  window: 5 "),
        "line 48: training.window: given twice (first on line 47)",
    ),
    (
        "an unquoted on: YAML reads it as true",
        edited("  retrain:\n", "  retrain:\n    on: [drift]\n"),
        "line 80: policy.retrain.on: YAML reads the key 'on' as True; quote it ('on'): retrain "
        "triggers are policy.retrain.triggers",
    ),
    (
        "an unquoted date where text is due",
        edited("name: shop", "name: 2026-01-01"),
        "name: expected text, got the date 2026-01-01 (YAML reads it unquoted as a date: "
        "write '2026-01-01')",
    ),
    (
        "a time zone that does not exist",
        edited(
            "event_time: {type: datetime}", "event_time: {type: datetime, timezone: Europe/Pari}"
        ),
        "dataset.columns.event_time: timezone 'Europe/Pari' is not an IANA time zone such as UTC "
        "or Europe/Paris (did you mean 'Europe/Paris'?)",
    ),
    (
        "a time format that is no strftime pattern",
        edited("event_time: {type: datetime}", "event_time: {type: datetime, format: dd/mm/yyyy}"),
        "dataset.columns.event_time: format 'dd/mm/yyyy' is not iso, epoch_s, epoch_ms or a "
        "strftime pattern",
    ),
    (
        "a time format with a directive no reader knows",
        edited("event_time: {type: datetime}", "event_time: {type: datetime, format: '%d/%m/%Q'}"),
        "(unknown: %Q)",
    ),
    (
        "a cron expression in words",
        edited("triggers: [drift, performance]", "triggers: [schedule]\n    schedule: every night"),
        "policy.retrain: schedule 'every night' is not a cron expression",
    ),
    (
        "a floor no model can meet",
        edited('floors: ["roc_auc >= 0.6"]', 'floors: ["roc_auc >= 1.6"]'),
        "gates.floors[0]: no model can meet roc_auc >= 1.6: roc_auc is at most 1",
    ),
    (
        "a delimiter of two characters",
        edited("dataset:\n", "dataset:\n  format: {delimiter: ';;'}\n"),
        "dataset.format.delimiter: ';;' is not one character",
    ),
    (
        "an encoding Python does not know",
        edited("dataset:\n", "dataset:\n  format: {encoding: latin-9}\n"),
        "dataset.format.encoding: 'latin-9' is not an encoding Python knows",
    ),
    (
        "the same mark for decimals and digit groups",
        edited("dataset:\n", "dataset:\n  format: {decimal: ',', thousands: ','}\n"),
        "thousands and decimal are both ','",
    ),
    (
        "a decimal mark that is not one",
        edited("dataset:\n", "dataset:\n  format: {decimal: ';'}\n"),
        "dataset.format.decimal",
    ),
    (
        "a floor from the good side",
        edited('floors: ["roc_auc >= 0.6"]', 'floors: ["roc_auc <= 0.6"]'),
        "gates.floors[0]: roc_auc <= 0.6 bounds it from above, but higher is better",
    ),
]


@pytest.mark.parametrize(("what", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_project_file_is_refused_naming_the_key(what: str, text: str, message: str) -> None:
    with pytest.raises(ProjectError) as refused:
        parse_spec(text, "ct.yaml", {})
    assert message in str(refused.value), str(refused.value)
    assert str(refused.value).startswith("ct.yaml")


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


def test_a_password_is_refused_with_the_variable_to_use() -> None:
    text = edited("  landing: landing ", "  sql: {password: hunter2}\n  landing: landing ")
    with pytest.raises(ProjectError, match=r"sources\.sql\.password: a literal secret") as refused:
        parse_spec(text, "ct.yaml", {})
    assert "url_env: CT_SQL_URL" in str(refused.value)
    token = edited("  landing: landing ", "  http_api: {token: abc123}\n  landing: landing ")
    with pytest.raises(ProjectError, match="token_env: CT_HTTP_TOKEN"):
        parse_spec(token, "ct.yaml", {})


def test_environment_overrides_lie_over_the_file_and_name_the_variable() -> None:
    spec = parse_spec(
        SHOP,
        "ct.yaml",
        {"CT_TRAINING_WINDOW": "5", "CT_CANDIDATES": "lightgbm, sklearn_hgb", "CT_ENV": "local"},
    )
    assert spec.training.window == 5 and spec.training.families == ["lightgbm", "sklearn_hgb"]
    # The file's own value where no variable is set; the built-in default where neither is.
    assert spec.training.holdout_fraction == 0.2 and spec.training.incremental_rounds == 30
    with pytest.raises(ProjectError, match=r"CT_TRAINING_WINDOW \(training.window\): must be"):
        parse_spec(SHOP, "ct.yaml", {"CT_TRAINING_WINDOW": "0"})
    with pytest.raises(ProjectError, match="CT_AUC_FLOOR is replaced by CT_GATE_FLOORS"):
        parse_spec(SHOP, "ct.yaml", {"CT_AUC_FLOOR": "0.7"})
    with pytest.raises(ProjectError, match="CT_SOURCES names unknown source 'kafka'"):
        parse_spec(SHOP, "ct.yaml", {"CT_SOURCES": "kafka"})
    floors = parse_spec(SHOP, "ct.yaml", {"CT_GATE_FLOORS": "roc_auc>=0.7,brier<=0.2"})
    assert floors.floors == ["roc_auc>=0.7", "brier<=0.2"]


def test_every_override_is_in_the_readme_table() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    for override in ENV_OVERRIDES:
        path = ".".join(override.path)
        assert f"| `{override.variable}` | `{path}` |" in readme, override.variable


def test_the_project_is_found_by_flag_variable_or_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path / "shop").root
    assert find_root(root, {}) == root
    assert find_root(None, {"CT_PROJECT": str(root)}) == root
    monkeypatch.chdir(root)
    assert find_root(None, {}) == root
    assert load_project(None, {}).home == root / ".ct"
    assert (
        load_project(None, {"CT_HOME": str(tmp_path / "elsewhere")}).home == tmp_path / "elsewhere"
    )
    with pytest.raises(ProjectError, match=r"no ct\.yaml in .* run `ct init --from FILE`"):
        find_root(tmp_path, {})


def test_both_examples_declare_what_their_stages_ask_for() -> None:
    shop = load_project(EXAMPLES / "shop", {}).spec
    energy = load_project(EXAMPLES / "energy", {}).spec
    assert (shop.task.type, shop.metric, shop.dataset.entity) == ("binary", "roc_auc", "entity_id")
    assert (energy.task.type, energy.metric, energy.dataset.entity) == ("regression", "rmse", None)
    assert shop.categorical_inputs == ("channel", "country")
    assert energy.categorical_inputs == ("weather",)
    assert energy.window_features == () and len(shop.window_features) == 15
    # Defaults that follow the task and its metric's direction.
    assert str(energy.margin) == "1%" and str(shop.margin) == "0.01"
    assert energy.dimensions[-1] == "label_spread" and shop.dimensions[-1] == "label_balance"
    # A day of week is constant in a daily partition: drift leaves it out by itself.
    assert set(energy.drift_excluded) == {"day_of_week"}
    # The feature-set id follows the declaration: a changed transform is another set.
    other = yaml.safe_load((EXAMPLES / "shop" / "ct.yaml").read_text())
    other["features"]["transforms"][0]["column"] = "n_items"
    changed = parse_spec(yaml.safe_dump(other), "ct.yaml", {})
    assert changed.feature_set_id("1") != shop.feature_set_id("1")
    assert shop.feature_set_id("1") == load_project(EXAMPLES / "shop", {}).spec.feature_set_id("1")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("26h", 93_600), ("7d", 604_800), ("2w", 1_209_600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
def test_a_project_file_saved_with_a_byte_order_mark_is_read(
    tmp_path: Path, encoding: str, bom: bytes
) -> None:
    (tmp_path / "ct.yaml").write_bytes(bom + SHOP.encode(encoding))
    assert load_project(tmp_path, environ={}).spec.name == "shop"


def test_a_project_file_in_another_encoding_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "ct.yaml").write_bytes(edited("name: shop", "name: café").encode("latin-1"))
    line = SHOP.splitlines().index("name: shop") + 1
    with pytest.raises(ProjectError, match=rf"^ct.yaml line {line}: not UTF-8 text \(byte 0xe9\)"):
        load_project(tmp_path, environ={})
    (tmp_path / "ct.yaml").write_bytes(SHOP.encode("utf-16-le"))
    with pytest.raises(ProjectError, match="without a byte-order mark"):
        load_project(tmp_path, environ={})


def test_a_misspelt_override_is_refused_with_the_one_meant() -> None:
    with pytest.raises(ProjectError) as refused:
        parse_spec(SHOP, "ct.yaml", {"CT_TRAINING_WINDOWS": "5"})
    assert str(refused.value) == (
        "CT_TRAINING_WINDOWS is not a ct variable (did you mean CT_TRAINING_WINDOW?): "
        "it would be ignored"
    )
    # ct's other variables, and one the project file names for a secret, are not misspellings.
    named = edited(
        "  landing: landing ", "  sql: {url_env: CT_TRAINING_WINDOWZ}\n  landing: landing "
    )
    environ = {"CT_HOME": "/tmp/x", "CT_REQUIRE_SERVICES": "1", "CT_TRAINING_WINDOWZ": "x"}
    assert parse_spec(named, "ct.yaml", environ).name == "shop"


def test_every_variable_ct_reads_is_known_to_the_misspelling_check() -> None:
    """A variable ct reads somewhere must never be refused as a misspelt override."""
    import re

    from ct_assets.project.load import misspelt_variables

    read = set()
    for folder in ("ct_assets", "resources", "sensors", "deploy", ".ci"):
        for path in (REPOSITORY / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ""):
                read |= set(re.findall(r"\bCT_[A-Z0-9_]+", path.read_text(errors="ignore")))
    assert misspelt_variables(dict.fromkeys(read, "x"), "") == []


def test_ct_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"ct {version('ct')}"


def test_the_line_writing_a_key_is_found_and_a_default_has_none(tmp_path: Path) -> None:
    text = (
        "name: x\n"
        "dataset:\n"
        "  columns:\n"
        "    amount: {type: float, checks: {ge: 0}}\n"
        "    a.b:\n"
        "      type: int\n"
    )
    assert key_line(text, ("dataset", "columns", "amount", "checks", "ge")) == 4
    assert key_line(text, ("dataset", "columns", "a.b", "type")) == 6  # a dot in a name
    # Not written: the key holds its default, whatever part of its path the file has.
    assert key_line(text, ("dataset", "columns", "amount", "checks", "le")) is None
    assert key_line(text, ("quality", "min_positive_rate")) is None
    assert key_line("dataset: [", ("dataset",)) is None
    # A loaded project answers from the file it was read from.
    (tmp_path / "ct.yaml").write_text(SHOP)
    project = load_project(tmp_path, environ={})
    line = next(i for i, text in enumerate(SHOP.splitlines(), 1) if "  threshold: 0.5" in text)
    assert project.locate(("drift", "threshold")) == line
    assert project.locate(("quality", "max_positive_rate")) is None
