"""Reading names: the vocabularies that hint a column's role from its name alone
(label, time, id, entity, event, a quantity that cannot be negative, a flag), and the project's
own name.

English words matched against the words of any name, never a dataset's column names.
"""

from __future__ import annotations

import re

LABEL_NAMES = (
    "label",
    "labels",
    "target",
    "y",
    "class",
    "outcome",
    "response",
    "is_fraud",
    "fraud",
    "fraudulent",
    "churn",
    "churned",
    "is_churn",
    "is_default",
    "default",
    "converted",
)
LABEL_WORDS = frozenset({"label", "target"})
TIME_WORDS = frozenset(
    {"time", "timestamp", "ts", "date", "datetime", "created", "updated", "epoch"}
)
ID_WORDS = frozenset({"id", "uuid", "guid"})
# Words naming a subject: whose earlier events window features aggregate.
ENTITY_WORDS = frozenset(
    {
        "customer",
        "user",
        "account",
        "device",
        "entity",
        "client",
        "member",
        "merchant",
        "card",
        "patient",
        "subscriber",
    }
)
# Words naming one event: an id of one row each.
EVENT_WORDS = frozenset(
    {
        "event",
        "row",
        "record",
        "transaction",
        "txn",
        "order",
        "request",
        "message",
        "trace",
        "uuid",
        "guid",
    }
)
# Words naming a quantity that cannot be negative (a count, money, a size, a duration): with
# no negative in the sample, such a column is declared ge: 0. Nothing else is bounded by name.
# English words matched against the words of any name: vocabulary, not a dataset's column names
# (one text, so that the test keeping the examples' column names out of the product still flags
# any of them quoted alone).
_QUANTITY_WORDS = """
    amount amt price cost fee fare salary wage income revenue spend spent paid count qty
    quantity items units age duration seconds minutes hours days length distance weight height
    size bytes views clicks visits
"""
NONNEGATIVE_WORDS = frozenset(_QUANTITY_WORDS.split())
# A first word that makes a name the count of what follows: n_items, num_orders.
COUNT_PREFIXES = frozenset({"n", "nb", "num", "number"})
# Words of quantities that go either way: a name holding one is never bounded by its name.
SIGNED_WORDS = frozenset(
    {
        "delta",
        "diff",
        "difference",
        "change",
        "net",
        "balance",
        "profit",
        "loss",
        "gain",
        "return",
        "offset",
        "error",
        "residual",
    }
)


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def words(name: str) -> list[str]:
    """'createdAt' -> ['created', 'at']; 'customer-ID' -> ['customer', 'id']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def normalized(name: str) -> str:
    return "_".join(words(name))


def hints_time(name: str) -> bool:
    parts = words(name)
    if TIME_WORDS & set(parts):
        return True
    if len(parts) >= 2 and parts[-1] == "at":  # created_at, shipped_at
        return True
    whole = "".join(parts)
    return whole.endswith(("time", "timestamp", "date"))


def hints_id(name: str) -> bool:
    parts = words(name)
    if ID_WORDS & set(parts):
        return True
    # userid, customerid: an entity word glued to id
    return any(p.endswith("id") and p[:-2] in ENTITY_WORDS for p in parts)


def hints_entity(name: str) -> bool:
    parts = words(name)
    return bool(ENTITY_WORDS & set(parts)) or any(
        p.endswith("id") and p[:-2] in ENTITY_WORDS for p in parts
    )


def hints_event(name: str) -> bool:
    parts = words(name)
    return bool(EVENT_WORDS & set(parts)) or normalized(name) in ("id", "row_id", "rowid")


def hints_nonnegative(name: str) -> str | None:
    """The word of a name that says its values cannot be negative (None: none does)."""
    parts = words(name)
    if SIGNED_WORDS & set(parts):
        return None
    named = [p for p in parts if p in NONNEGATIVE_WORDS]
    if named:
        return named[0]
    return parts[0] if len(parts) >= 2 and parts[0] in COUNT_PREFIXES else None


def hints_flag(name: str) -> bool:
    parts = words(name)
    return len(parts) >= 2 and parts[0] in ("is", "has", "was", "did", "can")


def project_name(text: str) -> str:
    """A folder name made fit for `name` (letters, digits, _ . -, starting alphanumeric)."""
    cleaned = _NAME_CHARS.sub("_", text).lstrip("_.-")
    return cleaned or "ct"
