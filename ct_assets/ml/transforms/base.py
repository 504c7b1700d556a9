"""What a transform is: its declaration in `features.transforms` and its two implementations,
side by side: over a frame (training, batch scoring) and over one row (serving).

A transform does not know the dataset: the caller hands it its source columns as it reads them
(numbers as floats, missing as NaN; times in the column's declared zone, missing as NaT/None),
so the declaration's typing and zones stay in one place (`ml/features.py`, `serve/rows.py`).
Light on purpose, as the families: the spec imports every transform at load; pandas and numpy
are imported only by the frame implementations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

# A column as a transform reads it, over a frame: its values as a Series.
FrameColumn = Callable[[str], "pd.Series"]
# One typed row (column -> value) to one feature value.
RowFunction = Callable[[Mapping[str, Any]], float]
# A column as a transform reads it, over one row: a getter from the row's typed values.
RowColumn = Callable[[str], Callable[[Mapping[str, Any]], Any]]
NAN = float("nan")


class Transform(BaseModel, ABC):
    """One entry of `features.transforms`: `name` is the feature, `op` says which transform.

    A subclass declares `op` as a one-value Literal (the spec's union is discriminated by it),
    its source columns, what kind of column it reads, and implements `frame` and `row` so that
    both give the same value for the same event (tests/test_transforms.py checks every
    registered transform on generated events).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The kind of column every source must be: "numeric" (int, float, bool) or "datetime".
    READS: ClassVar[Literal["numeric", "datetime"]] = "numeric"
    # A calendar feature (an hour, a day of week) is nearly constant within a partition at most
    # this long: there it names the partition instead of carrying a pattern, and drift leaves
    # it out. None: not read off the calendar.
    CONSTANT_WITHIN: ClassVar[timedelta | None] = None
    # Declarations the parity test builds this transform from, over numeric columns `x`, `y`
    # and a datetime column `t`.
    EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = ()

    name: str = Field(description="The feature's name (not a declared column's).")
    op: str = Field(description="Which transform computes the feature.")

    @property
    @abstractmethod
    def sources(self) -> tuple[str, ...]:
        """The declared columns it reads."""

    @abstractmethod
    def frame(self, column: FrameColumn) -> pd.Series:
        """The feature of every event of a frame."""

    @abstractmethod
    def row(self, column: RowColumn) -> RowFunction:
        """The feature of one event: compiled once per declaration, called per request row."""

    @classmethod
    def op_name(cls) -> str:
        """The `op` that names this transform in ct.yaml (its Literal's one value)."""
        return str(cls.model_fields["op"].annotation.__args__[0])  # type: ignore[union-attr]

    @property
    def calendar(self) -> bool:
        return self.CONSTANT_WITHIN is not None

    def constant_within(self, length: timedelta) -> bool:
        """Nearly constant within a partition of this length."""
        return self.CONSTANT_WITHIN is not None and length <= self.CONSTANT_WITHIN
