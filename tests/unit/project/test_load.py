"""Unit tests of ct_assets/project/load.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ct_assets.project.load import (
    ENV_OVERRIDES,
    PROJECT_FILE,
    ProjectError,
    find_root,
    given_at,
    key_line,
    load_project,
    masked,
    parse_spec,
)
from tests.conftest import EXAMPLES, REPOSITORY, write_project
from tests.helpers.project_file import BAD, SHOP, edited

SHOP_FILE = (EXAMPLES / "shop" / PROJECT_FILE).read_text()

NUMERIC_LINE = "numeric: {method: ks, threshold: 0.1}"


CATEGORICAL_LINE = "categorical: {method: tvd, threshold: 0.1}"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            NUMERIC_LINE,
            "numeric: {method: kss, threshold: 0.1}",
            "drift.numeric.method: 'kss': numeric features are judged by one of ks, "
            "wasserstein, psi, jensenshannon (did you mean 'ks'?)",
        ),
        (
            CATEGORICAL_LINE,
            "categorical: {method: ks, threshold: 0.1}",
            "drift.categorical.method: 'ks': categorical features are judged by one of tvd",
        ),
        (
            CATEGORICAL_LINE,
            "categorical: {method: tvd, threshold: 1.5}",
            "drift.categorical.threshold: tvd is at most 1, so 1.5 would never flag",
        ),
        (NUMERIC_LINE, "numeric: {method: ks, threshold: 0}", "drift.numeric.threshold: must be"),
        (NUMERIC_LINE, "numeric: {method: ks, treshold: 0.2}", "(did you mean 'threshold'?)"),
    ],
)
def test_a_bad_drift_declaration_is_refused_naming_the_key_and_line(
    old: str, new: str, message: str
) -> None:
    assert SHOP_FILE.count(old) == 1
    with pytest.raises(ProjectError) as refused:
        parse_spec(SHOP_FILE.replace(old, new), "ct.yaml", {})
    assert message in str(refused.value), str(refused.value)
    line = next(i for i, text in enumerate(SHOP_FILE.splitlines(), 1) if old in text)
    assert str(refused.value).startswith(f"ct.yaml line {line}: ")


def test_splits_a_dataset_cannot_support_are_refused_in_ct_yaml(tmp_path: Path) -> None:
    with pytest.raises(
        ProjectError, match=r"group splits by entity; declare dataset\.roles\.entity"
    ):
        write_project(tmp_path / "group", "energy", {"training": {"split": "group"}})
    with pytest.raises(ProjectError, match="stratified needs a binary label"):
        write_project(tmp_path / "stratified", "energy", {"training": {"split": "stratified"}})


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


@pytest.mark.parametrize(("what", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_project_file_is_refused_naming_the_key(what: str, text: str, message: str) -> None:
    with pytest.raises(ProjectError) as refused:
        parse_spec(text, "ct.yaml", {})
    assert message in str(refused.value), str(refused.value)
    assert str(refused.value).startswith("ct.yaml")


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
