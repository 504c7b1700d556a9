"""What every section of ct.yaml is built from: strict frozen models, durations, thresholds
that are absolute or a share of a baseline, and the did-you-mean of an error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str | int | float) -> timedelta:
    """'90s', '15m', '26h', '7d', '2w'; a bare number is seconds."""
    found = _DURATION.match(text) if isinstance(text, str) else None
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    elif found is not None:
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2).lower()]
    else:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 26h, 7d or 2w")
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Words:
    """How the reference of ct.yaml (`reference.py`) names a type pydantic sees as plain text,
    such as a duration; validation ignores it."""

    text: str


# Text checked by a model's validator (`duration_text`): 30s, 15m, 26h, 7d, 2w, or seconds.
Duration = Annotated[str, Words("duration")]


def duration_text(value: Any) -> str:
    parse_duration(value)
    return str(value)


class Threshold(BaseModel):
    """A margin or tolerance: absolute in the metric's units, or relative ('1%') to the
    champion's value (scale-free, for regression metrics whose units are the label's)."""

    model_config = ConfigDict(frozen=True)
    value: float = Field(
        description="The amount: in the metric's own units, or a share of the reference value "
        "when relative (0.01 for 1%)."
    )
    relative: bool = Field(
        default=False,
        description="True when written as a percentage (1%): a share of the champion's value.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError(f"expected a number or a percentage such as 1%, got {data!r}")
        if isinstance(data, int | float):
            return {"value": float(data)}
        if isinstance(data, str):
            text = data.strip()
            try:
                if text.endswith("%"):
                    return {"value": float(text[:-1]) / 100, "relative": True}
                return {"value": float(text)}
            except ValueError:
                raise ValueError(
                    f"expected a number or a percentage such as 1%, got {data!r}"
                ) from None
        return data

    def absolute(self, reference: float) -> float:
        return self.value * abs(reference) if self.relative else self.value

    def text(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"

    def __str__(self) -> str:
        return self.text()


def did_you_mean(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
