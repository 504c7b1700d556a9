"""Helpers shared by several test files, unit and integration:
the ones tests/test_project_file.py held."""

from __future__ import annotations

from tests.conftest import EXAMPLES

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
        "dataset.columns.event_time: format 'dd/mm/yyyy' is not iso, epoch_s, epoch_ms, epoch_us, "
        "epoch_ns or a strftime pattern",
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
