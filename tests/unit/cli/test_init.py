"""Unit tests of ct_assets/cli/init.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from ct_assets.cli import main
from ct_assets.ingest.parsing import check_file
from ct_assets.project.load import read_spec
from ct_assets.project.spec import ProjectSpec, Training, default_policy
from tests.helpers.init import N, base, comments, event_times, init, iso, write


def written(out: Path) -> tuple[ProjectSpec, dict[str, Any]]:
    """The written project, validated as `ct up` reads it, and as plain YAML."""
    text = (out / "ct.yaml").read_text(encoding="utf-8")
    return read_spec(out / "ct.yaml"), yaml.safe_load(text)


def column(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return raw["dataset"]["columns"][name]


def test_ints_floats_and_booleans_are_told_apart(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = base(
        n_items=rng.integers(1, 9, N),
        amount=rng.gamma(2.0, 30.0, N).round(2),
        returned=rng.choice(["true", "False", "TRUE", "false"], N),
        gift=rng.choice(["yes", "no"], N),
        is_member=rng.integers(0, 2, N),
        level=rng.integers(0, 2, N),
    )
    out = tmp_path / "shop"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert column(raw, "n_items") == {"type": "int", "checks": {"ge": 0}}
    assert column(raw, "amount") == {"type": "float", "checks": {"ge": 0}}
    assert column(raw, "returned") == {"type": "bool"}
    assert column(raw, "gift") == {"type": "bool"}
    # 0/1 named like a flag is a bool; 0/1 under any other name stays a number.
    assert column(raw, "is_member") == {"type": "bool"}
    assert column(raw, "level")["type"] == "int"
    assert column(raw, "event_time") == {"type": "datetime"}
    assert spec.name == "shop"
    assert set(spec.features.columns) == {
        "n_items",
        "amount",
        "returned",
        "gift",
        "is_member",
        "level",
    }


@pytest.mark.parametrize(
    ("name", "scale", "expected"),
    [
        ("ts", 1, "epoch_s"),
        ("created_at", 1000, "epoch_ms"),
        ("eventTime", 1000, "epoch_ms"),
        # Microseconds and nanoseconds: ct init once proposed a format the spec refused.
        ("ts", 10**6, "epoch_us"),
        ("ts", 10**9, "epoch_ns"),
    ],
)
def test_epoch_numbers_named_like_times_are_event_times(
    tmp_path: Path, name: str, scale: int, expected: str
) -> None:
    epochs = (event_times().asi8 // 10**9) * scale
    frame = base(amount=np.linspace(1, 50, N)).drop(columns="event_time")
    # An id in the epoch-seconds range, not named like a time, stays a number.
    frame[name] = epochs
    frame["account_number"] = np.arange(1_700_000_000, 1_700_000_000 + N)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert column(raw, name) == {"type": "datetime", "format": expected}
    assert column(raw, "account_number")["type"] == "int"
    assert spec.dataset.time == name
    assert raw["partitions"]["start"] == "2026-03-01"
    ops = {(t.op, t.name) for t in spec.features.transforms}
    # No day of week: in a window of daily partitions it names the day (see below).
    assert ops == {("hour", f"{name}_hour")}


@pytest.mark.parametrize(
    "written_as", ["%m/%d/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d"]
)
def test_dates_as_exports_write_them_are_event_times_with_their_format(
    tmp_path: Path, written_as: str
) -> None:
    frame = base(amount=np.linspace(1, 50, N))
    # Ten days from the 25th: some days above 12, so the order of day and month is plain.
    frame["event_time"] = (event_times() + pd.Timedelta(days=24)).strftime(written_as)
    out = tmp_path / "p"
    path = write(tmp_path, frame)
    assert init(path, out) == 0
    spec, raw = written(out)
    assert column(raw, "event_time") == {"type": "datetime", "format": written_as}
    assert spec.dataset.time == "event_time"
    assert spec.partitions.start == "2026-03-25"
    checked = check_file(path, spec)
    assert checked.ok and checked.set_aside is None, checked.reason()


def test_a_date_that_fits_both_orders_is_asked_not_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = base(amount=np.linspace(1, 50, N))
    frame["event_time"] = event_times().strftime("%m/%d/%Y")  # March 1st to 10th
    sample = write(tmp_path, frame)
    out = tmp_path / "p"
    # Without a terminal to ask in, the flag is required, and nothing is written.
    assert init(sample, out) == 1
    assert "--dates day-first or --dates month-first" in capsys.readouterr().err
    assert not (out / "ct.yaml").exists()
    assert init(sample, out, "--dates", "month-first") == 0
    spec, raw = written(out)
    assert column(raw, "event_time")["format"] == "%m/%d/%Y"
    assert spec.partitions.start == "2026-03-01"
    assert init(sample, tmp_path / "q", "--dates", "day-first") == 0
    spec, raw = written(tmp_path / "q")
    assert column(raw, "event_time")["format"] == "%d/%m/%Y"
    assert spec.partitions.start == "2026-01-03"


def test_the_date_question_is_asked_in_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = base(amount=np.linspace(1, 50, N))
    frame["event_time"] = event_times().strftime("%d.%m.%Y")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["x", "d"])
    monkeypatch.setattr("builtins.input", lambda _prompt: next(answers))
    assert init(write(tmp_path, frame), tmp_path / "p") == 0
    _, raw = written(tmp_path / "p")
    assert column(raw, "event_time")["format"] == "%d.%m.%Y"


def test_iso_times_date_only_get_no_hour_transform(tmp_path: Path) -> None:
    frame = base(amount=np.linspace(1, 50, N))
    frame["event_time"] = event_times().strftime("%Y-%m-%d")
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    assert [t.op for t in spec.features.transforms] == []
    assert spec.partitions.start == "2026-03-01"


def test_no_day_of_week_is_proposed_and_the_review_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p"
    assert init(write(tmp_path, base(amount=np.linspace(1, 50, N))), out) == 0
    spec, _ = written(out)
    assert "day_of_week" not in {t.op for t in spec.features.transforms}
    printed = capsys.readouterr().out
    assert "no day of week of the event time is proposed" in printed
    assert "names the day a row is from" in comments(out)
    # The window it reasons about is the one written.
    assert spec.training.window < 21


def test_the_policy_in_force_is_written_with_the_windows_and_families(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert init(write(tmp_path, base(amount=np.linspace(1, 50, N))), out) == 0
    spec, raw = written(out)
    # Written, and the same as what ct would apply if it were not.
    assert set(raw["policy"]) >= {"retrain", "evaluation_gap", "rollback", "label_shift"}
    assert spec.policy == default_policy(spec.task.type)
    assert raw["policy"]["retrain"]["triggers"] == ["every_partition"]
    assert raw["training"]["windows"] == [1, 3, 7, "since_change"]
    assert spec.training.families == list(Training().families)
    text = comments(out)
    assert "evaluation_gap" in text and "rollback.on_evaluation_gap" in text


def test_a_regression_project_writes_its_margins_as_shares(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    frame = base(amount=np.linspace(1, 50, N))
    frame["label"] = rng.normal(50, 10, N).round(3)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert spec.task.type == "regression"
    assert raw["policy"]["evaluation_gap"] == "10%"
    assert raw["policy"]["retrain"]["performance_margin"] == "5%"
    assert spec.policy == default_policy("regression")


def test_a_copy_of_the_label_is_not_a_feature(tmp_path: Path) -> None:
    frame = base(amount=np.linspace(1, 50, N))
    frame["outcome_flag"] = frame["label"]
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    assert "outcome_flag" not in spec.features.columns
    assert "equal to the label label in every row of the sample" in comments(out)


def test_low_cardinality_text_is_a_category_high_cardinality_text_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    frame = base(
        channel=rng.choice(["web", "app", "store"], N),
        comment=[f"free text number {i}" for i in range(N)],
        zip_code=rng.choice(["02134", "10001", "94105"], N),
    )
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert column(raw, "channel") == {
        "type": "category",
        "categories": ["app", "store", "web"],
        "unseen": "unknown",
    }
    assert column(raw, "comment") == {"type": "string"}
    # Leading zeros are kept: the codes are text, here few enough for a category.
    assert column(raw, "zip_code")["categories"] == ["02134", "10001", "94105"]
    assert "comment" not in spec.features.columns
    assert "channel" in spec.features.columns
    assert "not a feature: too many distinct values (240) for a category" in comments(out)
    printed = capsys.readouterr().out
    assert "left out:" in printed and "comment: too many distinct values" in printed


def test_columns_with_empty_cells_are_nullable_others_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    age = pd.array(rng.integers(18, 90, N), dtype="Int64")
    age[::5] = pd.NA  # 20%: under the default null limit
    score = rng.normal(0, 1, N)
    score[: int(N * 0.6)] = np.nan  # 60%: the default 50% limit would refuse the sample
    frame = base(age=age, score=score, amount=rng.gamma(2.0, 10.0, N))
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert column(raw, "age") == {"type": "int", "nullable": True, "checks": {"ge": 0}}
    assert column(raw, "score") == {
        "type": "float",
        "nullable": True,
        "checks": {"max_null_share": 0.8},
    }
    assert "nullable" not in column(raw, "amount")
    assert not spec.column("label").nullable


def test_no_column_gets_the_sample_extremes_as_bounds(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    salary = rng.normal(50_000, 8_000, N).round(2)
    frame = base(salary=salary, delta=rng.normal(0, 5, N).round(3))
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    # The next day's salary below today's minimum must not be refused.
    assert spec.column("salary").checks.ge == 0
    assert spec.column("salary").checks.le is None
    assert "checks" not in column(raw, "delta")
    for declared in spec.dataset.columns.values():
        assert declared.checks.le is None
    assert "exact min and max refuse the next day's" in comments(out)


def test_ge_0_only_where_the_name_or_whole_numbers_say_a_count_or_an_amount(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(14)
    frame = base(
        price=rng.gamma(2.0, 10.0, N).round(2),  # named: an amount
        num_orders=rng.integers(3, 9, N),  # named: a count (and whole numbers)
        visitors=rng.integers(0, 50, N),  # whole numbers, none negative: a count
        temperature=rng.normal(20.0, 3.0, N).round(2),  # continuous, none negative here
        net_change=rng.integers(1, 9, N),  # whole, but named as what may go either way
    )
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert frame["temperature"].min() > 0
    assert {n for n, c in spec.dataset.columns.items() if c.checks.ge is not None} == {
        "price",
        "num_orders",
        "visitors",
    }
    assert "checks" not in column(raw, "temperature") and "checks" not in column(raw, "net_change")
    said = comments(out)
    assert "ge: 0 guessed: the name says a count or an amount (price)" in said
    assert "ge: 0 guessed: whole numbers, none negative: a count" in said
    assert "none negative in the sample, but neither its name nor its values say" in said
    # The review notes name every guessed bound.
    printed = capsys.readouterr().out
    assert "ge: 0 was guessed for price, num_orders, visitors" in printed


@pytest.mark.parametrize("kind", ["float", "int"])
def test_a_regression_label_never_gets_a_bound(tmp_path: Path, kind: str) -> None:
    # A day without a negative label says nothing of tomorrow: a -0.26 must not refuse a day.
    rng = np.random.default_rng(15)
    target = rng.gamma(3.0, 2.0, N)
    frame = base(amount=rng.gamma(2.0, 10.0, N)).drop(columns="label")
    frame["y"] = target.round(2) if kind == "float" else target.round().astype(int)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert spec.task.type == "regression" and spec.dataset.label == "y"
    assert column(raw, "y") == {"type": kind}
    assert "the label: no bounds" in comments(out)


def test_a_sample_that_repeats_rows_keeps_repeated_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dates without a clock and two categories: the same row comes twice, legitimately.
    rng = np.random.default_rng(16)
    frame = pd.DataFrame(
        {
            "day": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 9, N), unit="D"),
            "store": rng.choice(["north", "south"], N),
            "promo": rng.choice(["yes", "no"], N),
            "label": rng.integers(0, 2, N),
        }
    )
    frame["day"] = frame["day"].dt.strftime("%Y-%m-%d")
    path = write(tmp_path, frame)
    out = tmp_path / "p"
    assert init(path, out) == 0
    spec, raw = written(out)
    repeated = int(frame.duplicated().sum())
    assert repeated > 0 and raw["quality"]["duplicate_rows"] == "keep"
    assert spec.quality.duplicate_rows == "keep"
    assert f"keep: {repeated:,} rows of the sample repeat an earlier one" in comments(out)
    assert "quality.duplicate_rows is keep" in capsys.readouterr().out
    # The sample it came from is accepted whole, repeated rows included.
    outcome = check_file(path, spec)
    assert outcome.ok and outcome.set_aside is None and outcome.frame is not None
    assert len(outcome.frame) == N
    # A sample without repeated rows keeps the default (refuse), written out to be seen.
    assert init(write(tmp_path, base(amount=np.linspace(1, 50, N)), "b.csv"), tmp_path / "q") == 0
    assert written(tmp_path / "q")[1]["quality"]["duplicate_rows"] == "refuse"


def test_repeating_id_is_the_entity_unique_id_the_event_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    frame = base(
        transaction_id=[f"tx-{i:05d}" for i in range(N)],
        customer_id=[f"cust-{i % 30}" for i in range(N)],
        amount=rng.gamma(2.0, 30.0, N).round(2),
        n_items=rng.integers(1, 5, N),
    )
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert spec.dataset.entity == "customer_id"
    assert spec.dataset.event_id == "transaction_id"
    assert column(raw, "customer_id") == {"type": "string"}
    for role in ("label", "event_time", "customer_id", "transaction_id"):
        assert role not in spec.features.columns
    groups = spec.features.windows.aggregates
    # The float with many values comes first; the int second.
    assert [g.column for g in groups] == ["amount", "n_items"]
    assert all(g.aggregations == ["count", "mean"] and g.windows == ["1d", "7d"] for g in groups)
    printed = capsys.readouterr().out
    assert "values repeat (30 distinct in 240 rows)" in printed
    assert "all different" in printed


def test_without_an_entity_there_are_no_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = base(amount=np.linspace(1, 99, N), event_id=range(N))
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert spec.dataset.entity is None
    assert spec.dataset.event_id == "event_id"
    assert "windows" not in raw["features"]
    assert "no entity column: per-entity window features are off" in capsys.readouterr().out
    assert "per-entity window features are off" in comments(out)


def test_a_two_valued_int_label_is_binary_with_its_values_and_positive(tmp_path: Path) -> None:
    frame = base(amount=np.linspace(1, 99, N))
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert column(raw, "label") == {"type": "int", "checks": {"isin": [0, 1]}}
    assert raw["task"] == {"type": "binary", "positive": 1, "metric": "roc_auc"}
    assert spec.positive == "1"
    assert raw["gates"]["floors"] == ["roc_auc >= 0.6"]
    assert raw["gates"]["margin"] == 0.01
    assert raw["gates"]["slices"]["tolerance"] == 0.05


def test_a_two_valued_text_label_is_a_category_with_the_minority_positive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(6)
    income = np.where(rng.random(N) < 0.25, ">50K", "<=50K")
    frame = base(age=rng.integers(17, 90, N)).drop(columns="label").assign(income=income)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out, "--label", "income") == 0
    spec, raw = written(out)
    assert column(raw, "income") == {"type": "category", "categories": ["<=50K", ">50K"]}
    assert raw["task"]["positive"] == ">50K"
    assert spec.positive == ">50K" and spec.negative == "<=50K"
    assert "the minority class" in capsys.readouterr().out


def test_a_many_valued_numeric_label_is_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    frame = base(rooms=rng.integers(1, 8, N)).drop(columns="label")
    frame["target"] = rng.normal(300.0, 80.0, N).round(1)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert spec.task.type == "regression"
    assert spec.dataset.label == "target"
    assert raw["task"] == {"type": "regression", "metric": "rmse"}
    assert raw["gates"]["floors"] == ["r2 >= 0"]
    assert raw["gates"]["margin"] == "1%"
    assert raw["gates"]["slices"]["tolerance"] == "10%"


def test_slices_are_few_valued_categories_and_bools(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    frame = base(
        country=rng.choice(["US", "GB", "DE", "FR"], N),
        device=rng.choice(["ios", "android"], N),
        is_weekend=rng.integers(0, 2, N),
        city=rng.choice([f"city{i}" for i in range(30)], N),
    )
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    # Categories before bools, fewer values first; a 30-valued city is too many to judge.
    assert spec.slice_columns == ("device", "country")


@pytest.mark.parametrize("name", ["sample.parquet", "sample.jsonl", "sample.csv.gz"])
def test_parquet_json_lines_and_gzip_samples(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(9)
    frame = pd.DataFrame(
        {
            "event_time": event_times(),
            "user_id": [f"u{i % 20}" for i in range(N)],
            "amount": rng.gamma(2.0, 30.0, N),
            "quantity": rng.integers(1, 5, N),
            "promo": rng.random(N) < 0.5,
            "plan": rng.choice(["free", "pro"], N),
            "label": np.tile([0, 1, 0], N // 3),
        }
    )
    if not name.endswith(".parquet"):
        frame["event_time"] = iso(event_times())
    out = tmp_path / "p"
    assert init(write(tmp_path, frame, name), out) == 0
    spec, raw = written(out)
    assert {n: c.type for n, c in spec.dataset.columns.items()} == {
        "event_time": "datetime",
        "user_id": "string",
        "amount": "float",
        "quantity": "int",
        "promo": "bool",
        "plan": "category",
        "label": "int",
    }
    assert column(raw, "plan")["categories"] == ["free", "pro"]
    assert spec.dataset.entity == "user_id"
    assert spec.task.type == "binary"


def test_names_of_transforms_do_not_clash_with_columns(tmp_path: Path) -> None:
    frame = base(event_time_hour=np.arange(N) % 24)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    names = [t.name for t in spec.features.transforms]
    assert names == ["event_time_hour_2"]


def test_flags_decide_what_the_sample_does_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    frame = base(shipped_at=iso(event_times(seed=3)), store=rng.choice(["a", "b", "c"], N))
    frame = frame.rename(columns={"label": "returned_item"})
    out = tmp_path / "p"
    flags = ("--label", "returned_item", "--time", "shipped_at", "--entity", "store")
    assert init(write(tmp_path, frame), out, *flags, "--name", "my project!") == 0
    spec, raw = written(out)
    assert spec.dataset.roles.model_dump() == {
        "label": "returned_item",
        "event_time": "shipped_at",
        "entity": "store",
        "event_id": None,
    }
    # An entity is an id: a category of today's stores would refuse tomorrow's.
    assert column(raw, "store") == {"type": "string"}
    assert "event_time" not in spec.features.columns
    assert spec.name == "my_project_"


def test_a_task_that_contradicts_the_label_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = base().drop(columns="label").assign(target=np.arange(N) * 0.5 + 0.25)
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out, "--task", "binary") == 1
    err = capsys.readouterr().err
    assert "--task binary: label target has 240 distinct values" in err
    assert "binary needs exactly two" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("columns", "flags", "question"),
    [
        pytest.param(
            {
                "event_time": ["2026-03-01T10:00:00Z"] * 4,
                "amount": [1, 2, 3, 4],
                "kind": list("abab"),
            },
            (),
            "cannot tell the label: pass --label COL (columns: event_time, amount, kind)",
            id="no-label-candidate",
        ),
        pytest.param(
            {
                "created": ["2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"] * 2,
                "paid": ["2026-03-01T11:00:00Z", "2026-03-02T12:00:00Z"] * 2,
                "label": [0, 1, 0, 1],
            },
            (),
            "cannot tell the event time: pass --time COL (time columns: created, paid)",
            id="two-datetime-columns",
        ),
        pytest.param(
            {"amount": [1.5, 2.5, 3.5, 4.5], "label": [0, 1, 0, 1]},
            (),
            "cannot tell the event time: no column holds times",
            id="no-datetime-column",
        ),
        pytest.param(
            {"event_time": ["2026-03-01T10:00:00Z"] * 6, "species": list("abcabc")},
            ("--label", "species"),
            "label species has 3 values ('a', 'b', 'c'...): multiclass is not supported",
            id="multiclass-label",
        ),
        pytest.param(
            {"event_time": ["2026-03-01T10:00:00Z"] * 4, "label": ["1", "", "0", "1"]},
            (),
            "label label: 1 rows of the sample have no label",
            id="label-with-gaps",
        ),
        pytest.param(
            {"event_time": ["2026-03-01T10:00:00Z"] * 2, "ct_score": [1, 2], "label": [0, 1]},
            (),
            "column names starting with 'ct_' are ct's own: rename ct_score",
            id="reserved-name",
        ),
        pytest.param(
            {"event_time": ["2026-03-01T10:00:00Z"] * 2, "label": [0, 1]},
            ("--label", "lable"),
            "--label lable: no such column; columns: event_time, label (did you mean 'label'?)",
            id="unknown-flag-column",
        ),
    ],
)
def test_an_undecidable_sample_writes_nothing_and_asks(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    columns: dict[str, list[Any]],
    flags: tuple[str, ...],
    question: str,
) -> None:
    path = write(tmp_path, pd.DataFrame(columns))
    out = tmp_path / "p"
    assert init(path, out, *flags) == 1
    err = capsys.readouterr().err
    assert question in err
    assert err.startswith("ct init: ")
    assert not out.exists()


def test_an_edited_project_is_not_overwritten_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base(amount=np.linspace(1, 50, N)))
    out = tmp_path / "p"
    assert init(path, out) == 0
    target = out / "ct.yaml"
    edited = target.read_text().replace("threshold: 0.5", "threshold: 0.4")
    target.write_text(edited)
    capsys.readouterr()
    assert init(path, out) == 1
    err = capsys.readouterr().err
    assert "ct.yaml exists: ct init does not overwrite it; pass --force" in err
    assert target.read_text() == edited
    assert sorted(p.name for p in out.iterdir()) == [".gitignore", "ct.yaml", "landing"]
    assert init(path, out, "--force") == 0
    assert "threshold: 0.5" in target.read_text()
    assert (out / ".gitignore").read_text().splitlines().count(".ct/") == 1


def test_the_project_folder_has_landing_gitignore_and_a_next_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base(amount=np.linspace(1, 50, N)))
    out = tmp_path / "fraud"
    (out).mkdir()
    (out / ".gitignore").write_text("*.pyc\n")
    assert init(path, out) == 0
    assert (out / "landing").is_dir()
    assert [p.name for p in (out / "landing").iterdir()] == [".gitkeep"]
    assert (out / ".gitignore").read_text() == "*.pyc\n.ct/\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".ct.yaml")]  # no temporary left
    printed = capsys.readouterr().out
    assert f"next: cd {out} && ct up" in printed
    assert "copy data files into" in printed


def test_every_guess_is_explained_in_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    frame = base(customer_id=[f"c{i % 12}" for i in range(N)], amount=rng.gamma(2, 3, N))
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    text = (out / "ct.yaml").read_text()
    lines = text.splitlines()
    for key in ("    label: label", "    event_time: event_time", "    entity: customer_id"):
        above = lines[lines.index(key) - 1]
        assert above.lstrip().startswith("# "), key
    assert "event_id: none: no id-like column unique in the sample" in comments(out)
    assert "# review: " in text
    assert max(len(line) for line in lines) <= 100


def test_a_rare_positive_class_gets_label_balance_room(tmp_path: Path) -> None:
    frame = base(amount=np.linspace(1, 50, N))
    frame["label"] = 0
    frame.loc[[3, 100, 200], "label"] = 1  # 1.25%: under the 2% default floor
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, raw = written(out)
    assert raw["quality"]["min_positive_rate"] == 0.0062
    assert raw["quality"]["max_positive_rate"] == 0.98  # the default, written out
    assert spec.quality.min_positive_rate < 3 / N
    # The comment says what the rate means for a batch judged by its count of positives: at
    # 0.62%, none in n rows is under a 0.1% chance from n = 1,111 ((1 - 0.0062)^1111 < 0.001).
    said = comments(out)
    assert "The sample's share of 1 is 1.25% (3 of 240 rows)" in said
    assert "a batch with no 1 goes on up to 1,110 rows and is refused from 1,111" in said
    assert "(the sample's days hold about 24 rows)" in said
    # So a day of the sample's size with no positive is accepted, not refused single_class.
    day = frame.assign(label=0).head(24)
    assert check_file(write(tmp_path, day, "day.csv"), spec).ok


@pytest.mark.parametrize("name", ["sample.csv", "sample.parquet", "sample.jsonl"])
def test_the_generated_project_validates_the_sample_it_came_from(tmp_path: Path, name: str) -> None:
    # ct's own reader and schema, as files landing in the project meet them.

    rng = np.random.default_rng(12)
    age = rng.integers(18, 90, N).astype(float)
    age[::7] = np.nan
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(N)],
            "account_id": [f"a{i % 25}" for i in range(N)],
            "created_at": iso(event_times()),
            "amount": rng.gamma(2.0, 30.0, N).round(2),
            "balance": rng.normal(0, 100, N).round(2),
            "n_items": rng.integers(1, 6, N),
            "age": age,
            "channel": rng.choice(["web", "app", "store"], N),
            "is_new": rng.integers(0, 2, N),
            "gift": rng.choice(["yes", "no"], N),
            "comment": [f"note {i}" for i in range(N)],
            "outcome": np.where(rng.random(N) < 0.3, "bad", "good"),
        }
    )
    path = write(tmp_path, frame, name)
    out = tmp_path / "p"
    assert init(path, out) == 0
    spec = read_spec(out / "ct.yaml")
    outcome = check_file(path, spec)
    assert outcome.ok and outcome.set_aside is None, outcome.reason()


def test_the_jsonl_reader_reads_records_as_text(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    records = [
        {"event_time": t, "label": bool(i % 2), "x": i * 0.5, "note": None if i % 3 else "n"}
        for i, t in enumerate(iso(event_times(12)))
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "p"
    assert init(path, out) == 0
    _, raw = written(out)
    assert column(raw, "label") == {"type": "bool"}
    assert column(raw, "note")["nullable"] is True
    assert raw["task"]["positive"] is True


def test_missing_values_written_as_text_are_nulls_and_the_sample_validates(
    tmp_path: Path,
) -> None:
    frame = base(amount=np.linspace(1, 50, N).round(1).astype(str))
    frame.loc[::4, "amount"] = "NA"
    frame.loc[1::4, "amount"] = "null"
    path = write(tmp_path, frame)
    out = tmp_path / "p"
    assert init(path, out) == 0
    _, raw = written(out)
    assert column(raw, "amount")["type"] == "float"
    assert column(raw, "amount")["nullable"] is True
    # The validator reads the same tokens as missing in a numeric column.
    outcome = check_file(path, read_spec(out / "ct.yaml"))
    assert outcome.ok and outcome.set_aside is None, outcome.reason()
    assert outcome.frame is not None and outcome.frame["amount"].isna().sum() == N // 2


def test_the_current_folder_is_the_default_and_names_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base(amount=np.linspace(1, 50, N)))
    here = tmp_path / "card fraud"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["init", "--from", str(path)]) == 0
    spec, _ = written(here)
    assert spec.name == "card_fraud"
    assert "next: cd . && ct up" in capsys.readouterr().out


def test_a_file_with_a_header_and_no_rows_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("event_time,label\n")
    assert init(path, tmp_path / "p") == 1
    assert "empty.csv: no rows" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "encoding",
    ["epoch_s", "epoch_ms", "epoch_us", "epoch_ns", "date", "offset", "month_first", "day_first"],
)
def test_the_generated_project_validates_samples_of_every_time_encoding(
    tmp_path: Path, encoding: str
) -> None:

    rng = np.random.default_rng(13)
    times = event_times()
    written_times: Any = {
        "epoch_s": times.asi8 // 10**9,
        "epoch_ms": times.asi8 // 10**6,
        "epoch_us": times.asi8 // 10**3,
        "epoch_ns": times.asi8,
        "date": times.strftime("%Y-%m-%d"),
        "offset": times.tz_convert("Europe/Paris").strftime("%Y-%m-%dT%H:%M:%S%z"),
        "month_first": times.strftime("%m/%d/%Y %H:%M"),
        "day_first": times.strftime("%d.%m.%Y %H:%M:%S"),
    }[encoding]
    frame = pd.DataFrame(
        {
            "ts": written_times,
            "device_id": [f"d{i % 9}" for i in range(N)],
            "reading": rng.normal(20.0, 4.0, N).round(3),
            "ok": rng.choice(["True", "False"], N),
            "grade": np.where(rng.random(N) < 0.4, " >50K", " <=50K"),
        }
    )
    frame.loc[::9, "reading"] = np.nan
    path = write(tmp_path, frame)
    out = tmp_path / "p"
    # Dates that read both ways are a question init asks: the answer is given here.
    order = {"month_first": ["--dates", "month-first"], "day_first": ["--dates", "day-first"]}
    assert init(path, out, "--label", "grade", *order.get(encoding, [])) == 0
    spec = read_spec(out / "ct.yaml")
    assert spec.dataset.time == "ts" and spec.dataset.entity == "device_id"
    outcome = check_file(path, spec)
    assert outcome.ok and outcome.set_aside is None, outcome.reason()


def test_out_may_name_the_project_file_and_never_a_data_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = write(tmp_path, base())
    assert init(sample, tmp_path / "proj" / "ct.yaml") == 0
    assert (tmp_path / "proj" / "ct.yaml").is_file()
    assert init(sample, tmp_path / "proj" / "ct.yaml") == 1
    assert "ct.yaml exists: ct init does not overwrite it" in capsys.readouterr().err
    assert init(sample, sample) == 1
    assert capsys.readouterr().err.strip() == (
        f"ct init: --out {sample}: a file, not a folder: name the project's folder"
    )


def binary_sample(seed: int = 21, n: int = N, **columns: Any) -> pd.DataFrame:
    frame = base(n, seed)
    return frame.assign(**{k: v(frame["label"].to_numpy()) for k, v in columns.items()})


def test_a_feature_that_nearly_decides_the_label_is_left_out_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(21)

    def flipped(values: np.ndarray, at: int) -> np.ndarray:
        out = values.copy()
        out[at] = 1 - out[at]
        return out

    frame = binary_sample(
        # Two values, one per class but in one row of 240 (99.6%): the label written again.
        refunded=lambda y: np.where(flipped(y, 5) == 1, "yes", "no"),
        # Four codes, two for each class: the code decides the label.
        status=lambda y: np.where(y == 1, rng.choice(["CB", "FR"], N), rng.choice(["OK", "PD"], N)),
        # A number whose threshold splits the classes but for a few rows (AUC >= 0.99).
        chargeback=lambda y: np.round(np.where(y == 1, 80, 5) + rng.normal(0, 8, N), 2),
        # Honest: a strong feature with an AUC near 0.9, and a weak category.
        basket=lambda y: np.round(40 + 18 * y + rng.normal(0, 10, N), 2),
        channel=lambda y: np.where(rng.random(N) < 0.6 + 0.2 * y, "web", "app"),
    )
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    assert set(spec.features.columns) == {"basket", "channel"}
    said = comments(out)
    assert (
        "(no, yes); not a feature: the label label written another way ('yes' where it is 1, "
        "'no' where it is 0) in 99.7% of the rows of each class: a second label"
    ) in said
    assert "its value gives the label label in 100.0% of the rows of each class" in said
    assert "one threshold on it splits the classes of the label label with ROC AUC" in said
    assert "add it back to features.columns only if it is known before the outcome" in said
    assert "review: refunded, status, chargeback left out as likely leaks of the label" in said
    assert "refunded: the label label written another way" in capsys.readouterr().out


def test_an_honest_strong_feature_is_kept(tmp_path: Path) -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(22)
    frame = binary_sample(22, basket=lambda y: np.round(40 + 18 * y + rng.normal(0, 10, N), 2))
    auc = roc_auc_score(frame["label"], frame["basket"])
    assert 0.85 < auc < 0.95  # strong, yet not a threshold that decides the label
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    assert spec.features.columns == ["basket"]
    assert "leak" not in comments(out)


def test_a_column_of_near_unique_values_decides_nothing(tmp_path: Path) -> None:
    # 40 rows, 40 codes (few enough values to be judged as a category): each code is seen once
    # and so "maps" to one class, in every row of the sample; judged by the other rows holding
    # it (none), it gives nothing.
    codes = np.random.default_rng(23).permutation(np.arange(1_000, 1_040))
    frame = base(40, 23, code=codes)
    naive = frame.groupby("code")["label"].agg(lambda y: max(y.mean(), 1 - y.mean()))
    assert (naive * frame.groupby("code").size()).sum() / len(frame) == 1.0
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    assert "code" in spec.features.columns
    assert "leak" not in comments(out)


def test_a_second_label_is_left_out(tmp_path: Path) -> None:
    rng = np.random.default_rng(24)
    # target and churned: one is the other as 1/0 and yes/no. ct takes target for the label.
    frame = base(N, 24, amount=rng.gamma(2, 3, N)).rename(columns={"label": "target"})
    frame["churned"] = np.where(frame["target"] == 1, "yes", "no")
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out) == 0
    spec, _ = written(out)
    assert spec.dataset.label == "target" and spec.features.columns == ["amount"]
    assert (
        "the label target written another way ('yes' where it is 1, 'no' where it is 0) in "
        "100.0% of the rows of each class: a second label"
    ) in comments(out)
    # label and y: y is another outcome, whatever it holds; a name that merely holds a label
    # word (target_price) is a feature like any other.
    other = base(N, 25, amount=rng.gamma(2, 3, N)).assign(
        y=rng.integers(0, 2, N), target_price=rng.gamma(3, 2, N).round(2)
    )
    out = tmp_path / "q"
    assert init(write(tmp_path, other, "other.csv"), out) == 0
    spec, _ = written(out)
    assert spec.dataset.label == "label"
    assert spec.features.columns == ["amount", "target_price"]
    said = comments(out)
    assert "review: y left out as likely leaks of the label label" in said
    assert "not a feature: named like a label, beside the label label: another outcome" in said


def test_a_rescaling_of_a_numeric_label_is_left_out_and_a_correlated_feature_kept(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(26)
    price = rng.normal(300.0, 80.0, N).round(1)
    frame = (
        base(N, 26)
        .drop(columns="label")
        .assign(
            # The price in cents, rounded: Pearson r 0.9999.
            price_cents=(price * 100 + rng.normal(0, 50, N)).round(),
            # Rooms: related to the price (r near 0.8), not a rescaling of it.
            rooms=np.clip(np.round((price - 300) / 40 + 4 + rng.normal(0, 0.8, N)), 1, 9).astype(
                int
            ),
            price=price,
        )
    )
    assert 0.7 < np.corrcoef(frame["rooms"], price)[0, 1] < 0.95
    out = tmp_path / "p"
    assert init(write(tmp_path, frame), out, "--label", "price") == 0
    spec, _ = written(out)
    assert spec.task.type == "regression" and spec.features.columns == ["rooms"]
    assert "review: price_cents left out as likely leaks of the label price" in comments(out)
    assert "it moves with the label price (|Pearson r| 1.000" in comments(out)
