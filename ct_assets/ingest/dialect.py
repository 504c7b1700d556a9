"""How delivered files are written (`dataset.format`), and reading text by that declaration.

One declaration is read by `ct init`, `ct check`, ingest, `ct predict` and batch scoring, so a
file is read the same way wherever it goes. Nothing here guesses: a file or a value that does not
fit the declaration is refused by whoever reads it, naming what differs.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from typing import Literal

import charset_normalizer
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Field separators ct knows by name as well as by character (YAML makes a tab hard to see).
DELIMITER_NAMES = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
# Separators between groups of three digits as exports write them: Europe ('.', a space or a
# no-break space), Switzerland ("'"), the English-speaking world (',') and programmers ('_').
THOUSANDS = (",", ".", " ", "\u00a0", "\u202f", "'", "_")
# The separators above that cannot be seen, by name.
_SPACES = {" ": "a space", "\u00a0": "a no-break space", "\u202f": "a narrow no-break space"}
GZIP_MAGIC = b"\x1f\x8b"
# Byte-order marks in the order they must be tried (UTF-32 LE's begins with UTF-16 LE's).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def shown(char: str) -> str:
    """A separator as the user would write it in ct.yaml."""
    names = {v: k for k, v in DELIMITER_NAMES.items()}
    return names.get(char, repr(char)) if char in "\t " else repr(char)


class Delivery(BaseModel):
    """`dataset.format`: how every delivered file of the project is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str = Field(
        default=",",
        description="Delimited text (.csv, .tsv, .txt): the field separator, one character or "
        f"a name ({', '.join(DELIMITER_NAMES)}).",
    )
    quote: str = Field(
        default='"', description="Delimited text: the character that quotes a field."
    )
    decimal: Literal[".", ","] = Field(
        default=".",
        description="The decimal mark of numbers; a number written otherwise is refused, never "
        "read as another number.",
    )
    thousands: str | None = Field(
        default=None,
        description="The separator between groups of three digits: "
        + ", ".join([*(f"`{t}`" for t in THOUSANDS if t not in _SPACES), *_SPACES.values()])
        + "; unset: numbers are not grouped.",
    )
    encoding: str = Field(
        default="utf-8",
        description="The text encoding, any Python codec name (utf-8, cp1252, latin-1, "
        "utf-16, ...).",
    )
    bom: Literal["optional", "required", "absent"] = Field(
        default="optional",
        description="Whether files must start with a byte-order mark (required), must not "
        "(absent), or either; a mark is never part of the data.",
    )
    nulls: list[str] | None = Field(
        default=None,
        description="Cells read as missing in every column, besides an empty one; unset: ct's "
        "own spellings (NA, null, None, ...) in number, flag and time columns.",
    )
    compression: Literal["auto", "none", "gzip"] = Field(
        default="auto",
        description="auto: gzip when the bytes are gzip, whatever the file's name; gzip or "
        "none: a file that is not so is refused.",
    )

    @field_validator("delimiter", mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        if isinstance(value, str):
            return DELIMITER_NAMES.get(value.strip().lower(), value)
        return value

    @field_validator("delimiter", "quote")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(
                f"{value!r} is not one character (names: {', '.join(DELIMITER_NAMES)})"
            )
        if value.isalnum() or value in "\r\n":
            raise ValueError(f"{value!r} cannot separate fields: it is part of values or lines")
        return value

    @field_validator("thousands")
    @classmethod
    def _a_group_separator(cls, value: str | None) -> str | None:
        if value is not None and value not in THOUSANDS:
            known = ", ".join(repr(t) for t in THOUSANDS)
            raise ValueError(f"{value!r} is not a digit-group separator; one of {known}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"{value!r} is not an encoding Python knows (e.g. utf-8, cp1252, latin-1, utf-16)"
            ) from None

    @model_validator(mode="after")
    def _distinct(self) -> Delivery:
        if self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal are both {self.decimal!r}")
        if self.quote == self.delimiter:
            raise ValueError(f"quote and delimiter are both {self.delimiter!r}")
        return self

    @property
    def plain_numbers(self) -> bool:
        """Numbers as Python writes them: read by the schema's own coercion, fastest."""
        return self.decimal == "." and self.thousands is None

    def numbers_described(self) -> str:
        group = f", digit groups split by {shown(self.thousands)}" if self.thousands else ""
        return f"decimal mark {self.decimal!r}{group}"


DEFAULT = Delivery()


@lru_cache(maxsize=64)
def number_pattern(decimal: str, thousands: str | None) -> str:
    """A number as declared: optional sign, digits (grouped by threes when a separator is
    declared, or not grouped at all), an optional fraction and exponent."""
    d = re.escape(decimal)
    whole = r"\d+" if thousands is None else rf"(?:\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+)"
    return rf"\s*[+-]?(?:{whole}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?\s*"


def number_text(values: pd.Series, delivery: Delivery) -> tuple[pd.Series, np.ndarray]:
    """Numbers written as `delivery` declares, rewritten as Python writes them, and which
    present values do not fit the declaration (left as they were, to be refused)."""
    text = values.astype("string[pyarrow]")
    fits = text.str.fullmatch(number_pattern(delivery.decimal, delivery.thousands))
    bad = ~fits.fillna(True).to_numpy(dtype=bool)
    plain = text.str.strip()
    if delivery.thousands is not None:
        plain = plain.str.replace(delivery.thousands, "", regex=False)
    if delivery.decimal != ".":
        plain = plain.str.replace(delivery.decimal, ".", regex=False)
    out = plain.where(~bad, text).astype(object)
    return out.where(values.notna(), values), bad


# Ways of writing numbers, tried in this order to say how refused numbers are written.
_WRITINGS = ((",", None), (".", None), (",", "."), (",", " "), (",", "\u00a0"), (".", ","))


def other_writing(values: pd.Series, delivery: Delivery) -> str:
    """How numbers that do not fit the declaration are written, when all fit another way:
    said in the refusal, so the user knows which line of `dataset.format` to change."""
    sample = values.dropna().astype("string[pyarrow]").head(200)
    if sample.empty:
        return ""
    for decimal, thousands in _WRITINGS:
        if (decimal, thousands) == (delivery.decimal, delivery.thousands):
            continue
        if sample.str.fullmatch(number_pattern(decimal, thousands)).all():
            said = f"decimal: {decimal!r}" + (
                f", thousands: {shown(thousands)}" if thousands else ""
            )
            return f" (these are written with {said}; declare it in dataset.format)"
    return ""


# Where charset detection finds several single-byte encodings equally likely (short samples
# with a few accents), the one Windows writes for Western languages is the likeliest export.
PREFERRED_ENCODINGS = ("cp1252",)


def likely_encoding(data: bytes) -> str | None:
    """The encoding charset detection reads `data` in (a Python codec name), or None."""
    found = list(charset_normalizer.from_bytes(data[:SNIFF_LIMIT]))
    if not found:
        return None
    least = min(m.chaos for m in found)
    tied = [m for m in found if m.chaos <= least + 1e-9]
    for preferred in PREFERRED_ENCODINGS:
        if any(preferred in m.could_be_from_charset for m in tied):
            return preferred
    return codecs.lookup(tied[0].encoding).name


SNIFF_LIMIT = 1 << 20
