"""The shop example's data: a drifting source of orders, each a possible fraud.

Each simulated day is one file. Until `drift_day` the label follows one relationship with the
features; from then on the relationship shifts (the app channel turns risky, small baskets stop
mattering, new accounts matter more), so a model trained before the shift degrades after it, and
the features move with it (more app orders, larger baskets, newer accounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ct_assets.cli.demo import DemoDay
from ct_assets.ingest.files import atomic_write

CHANNELS = ("web", "app", "store")
COUNTRIES = ("US", "GB", "DE", "FR", "BR")


@dataclass(frozen=True)
class DriftingSource:
    start: date
    rows_per_day: int = 3000
    entities: int = 800
    drift_day: int = 3
    seed: int = 7
    # From this day on the label follows the shifted relationship while every feature keeps
    # its distribution: a concept change that only the model's live performance can reveal.
    concept_day: int | None = None

    def day(self, index: int) -> pd.DataFrame:
        """Events of simulated day `index` (0-based)."""
        rng = np.random.default_rng(self.seed * 1_000 + index)
        n = self.rows_per_day
        day_start = datetime.combine(self.start + timedelta(days=index), datetime.min.time())
        seconds = np.sort(rng.integers(0, 86_400, size=n))
        drifted = index >= self.drift_day
        entity = rng.zipf(1.6, size=n) % self.entities
        # The shift comes with an app campaign: more app orders, larger baskets, newer accounts
        # (the features move, which drift monitoring sees, besides the label's relationship).
        channels = [0.25, 0.6, 0.15] if drifted else [0.5, 0.3, 0.2]
        channel = rng.choice(CHANNELS, size=n, p=channels)
        country = rng.choice(COUNTRIES, size=n, p=[0.4, 0.2, 0.15, 0.15, 0.1])
        amount = np.round(rng.lognormal(3.9 if drifted else 3.5, 1.0, size=n), 2)
        n_items = rng.integers(1, 8, size=n)
        age = np.round(rng.exponential(200 if drifted else 400, size=n), 1)
        hour = seconds // 3600
        logit = (
            -1.2
            + 0.9 * (np.log1p(amount) - 3.5)
            - 0.6 * np.log1p(age) / 3
            + np.where(hour < 6, 1.0, 0.0)
            + np.where(country == "BR", 0.7, 0.0)
        )
        if drifted or self.concept_changed(index):
            logit += np.where(channel == "app", 2.0, -0.8) - 1.2 * (np.log1p(amount) - 3.5)
            logit += np.where(age < 60, 1.5, 0.0)
        else:
            logit += np.where(channel == "web", 0.8, -0.4) + np.where(n_items == 1, 0.8, 0.0)
        label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        times = pd.to_datetime(day_start) + pd.to_timedelta(seconds, unit="s")
        return pd.DataFrame(
            {
                "event_id": [f"e{index:04d}-{i:06d}" for i in range(n)],
                "entity_id": [f"c{e:05d}" for e in entity],
                "event_time": times.tz_localize(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "amount": amount,
                "n_items": n_items,
                "channel": channel,
                "country": country,
                "account_age_days": age,
                "label": label,
            }
        )

    def concept_changed(self, index: int) -> bool:
        return self.concept_day is not None and index >= self.concept_day

    def day_name(self, index: int, suffix: str = "csv") -> str:
        return f"events_{(self.start + timedelta(days=index)).isoformat()}.{suffix}"


def corrupt(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A malformed copy of a batch that is still a well-formed table.

    The kinds of MALFORMED_RULES break a whole file, or too many rows of it (more than 1%) to
    set them aside; those of SET_ASIDE_RULES break a row or two, which are set aside while the
    rest of the file goes on.
    """
    bad = frame.copy()
    if kind == "wrong_type":
        bad["amount"] = bad["amount"].astype(str)
        bad.loc[bad.index[::50], "amount"] = "12,50"  # a decimal comma
    elif kind == "missing_column":
        bad = bad.drop(columns=["channel"])
    elif kind == "duplicated_rows":  # an export that wrote every row twice
        bad = pd.concat([bad, bad], ignore_index=True)
    elif kind == "reused_ids":  # every tenth event id given again to the next event
        bad["event_id"] = bad["event_id"].where(bad.index % 10 != 1, bad["event_id"].shift())
    elif kind == "extra_column":
        bad["coupon_code"] = "X1"
    elif kind == "label_outside":
        bad.loc[bad.index[::40], "label"] = 2
    elif kind == "single_class":
        bad["label"] = 0
    elif kind == "future_timestamps":
        bad.loc[bad.index[::20], "event_time"] = "2099-01-01T00:00:00Z"
    elif kind == "mostly_null":
        bad["account_age_days"] = bad["account_age_days"].astype(object)
        bad.loc[bad.index[: int(len(bad) * 0.8)], "account_age_days"] = None
    elif kind == "stray_out_of_range":  # one basket of no items
        bad.loc[bad.index[len(bad) // 2], "n_items"] = 0
    elif kind == "stray_duplicates":  # two rows sent again at the end
        bad = pd.concat([bad, bad.iloc[[1, len(bad) // 3]]], ignore_index=True)
    elif kind == "blank_event_time":
        bad.loc[bad.index[len(bad) // 4], "event_time"] = ""
    elif kind == "stray_future_timestamp":
        bad.loc[bad.index[-1], "event_time"] = "2099-01-01T00:00:00Z"
    else:
        raise ValueError(f"unknown corruption {kind!r}")
    return bad


# The kinds of broken delivery ct must refuse whole, each with the rule it is refused under:
# faults of the file, and row rules broken by more rows than a batch may set aside (1%).
MALFORMED_RULES = {
    "missing_column": "missing_column",
    "wrong_type": "wrong_type",
    "truncated": "truncated",
    "empty_file": "empty_file",
    "header_only": "header_only",
    "duplicated_rows": "duplicate_row",
    "reused_ids": "duplicate_key",
    "extra_column": "unexpected_column",
    "label_outside": "not_allowed_value",
    "single_class": "single_class",
    "future_timestamps": "future_timestamp",
    "non_utf8": "encoding",
    "mostly_null": "mostly_null",
}
# The kinds of delivery with a row or two wrong: those rows are set aside under their rule, the
# rest of the file goes on.
SET_ASIDE_RULES = {
    "stray_out_of_range": "out_of_range",
    "stray_duplicates": "duplicate_row",
    "blank_event_time": "no_event_time",
    "stray_future_timestamp": "future_timestamp",
}


def malformed_csv(frame: pd.DataFrame, kind: str) -> bytes:
    """The bytes of a broken CSV delivery of `frame`, as a broken upstream would send them."""
    good = frame.to_csv(index=False).encode()
    if kind == "truncated":
        return good[: len(good) - 25]
    if kind == "empty_file":
        return b""
    if kind == "header_only":
        return good.split(b"\n", 1)[0] + b"\n"
    if kind == "non_utf8":
        lines = good.split(b"\n")
        lines[4] = lines[4].replace(b",c", b",\xff\xfec", 1)
        return b"\n".join(lines)
    return corrupt(frame, kind).to_csv(index=False).encode()


def write_atomically(frame: pd.DataFrame, path: Path) -> Path:
    """Write a CSV drop the way a well-behaved producer does: to a hidden name, then rename."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


# What `ct demo shop` drops, day by day, and what each day should show (policy: retrain on
# drift or performance only, see ct.yaml).
SCRIPT = (
    DemoDay(0, "first data: no champion yet, so a first model is trained and promoted"),
    DemoDay(1, "more of the same: the champion holds live and nothing drifts: no retrain"),
    DemoDay(
        2,
        "a broken export (text in 'amount') lands beside the good file: it is quarantined, "
        "the good file goes on",
        "wrong_type",
    ),
    DemoDay(
        3,
        "the concept changes: the label follows new rules while every feature keeps its "
        "distribution; drift sees nothing, the champion's live ROC AUC falls: retrain",
    ),
    DemoDay(
        4,
        "an operator forces a model trained on shuffled labels through as champion: while it "
        "bakes it does worse live than the one it replaced: rolled back",
        force_bad=True,
    ),
)
# The demo's source: the concept changes on day 3, the features never drift.
DEMO_SOURCE = {"drift_day": 100, "concept_day": 3}


def demo_source(
    first_day: date,
    rows_per_day: int | None = None,
    drift_day: int = 3,
    concept_day: int | None = None,
) -> DriftingSource:
    return DriftingSource(
        start=first_day,
        rows_per_day=rows_per_day or 3000,
        drift_day=drift_day,
        concept_day=concept_day,
    )
