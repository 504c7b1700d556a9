"""Online feature vectors: each entity's latest offline features row, ready for serving."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgpack
import pandas as pd

from ct_assets.ml.frames import ENTITY, FEATURE_SET, ROW_ID, TIME
from ct_assets.project.spec import ProjectSpec


@dataclass(frozen=True)
class FeatureVector:
    entity: str
    feature_set_id: str
    event_time: datetime
    event_id: str
    features: dict[str, Any]
    updated_at: datetime | None = None

    @property
    def micros(self) -> int:
        return int(self.event_time.timestamp() * 1_000_000)

    def pack(self, updated_at: datetime) -> bytes:
        return msgpack.packb(
            {
                "entity": self.entity,
                "feature_set_id": self.feature_set_id,
                "event_time": self.event_time.isoformat(),
                "event_id": self.event_id,
                "updated_at": updated_at.isoformat(),
                "features": self.features,
            }
        )

    @classmethod
    def unpack(cls, blob: bytes) -> FeatureVector:
        raw = msgpack.unpackb(blob)
        return cls(
            entity=raw["entity"],
            feature_set_id=raw["feature_set_id"],
            event_time=datetime.fromisoformat(raw["event_time"]),
            event_id=raw["event_id"],
            features=raw["features"],
            updated_at=datetime.fromisoformat(raw["updated_at"]),
        )

    def as_dict(self) -> dict[str, Any]:
        plain = {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in self.features.items()
        }
        return {
            "entity": self.entity,
            "feature_set_id": self.feature_set_id,
            "event_time": self.event_time.isoformat(),
            "event_id": self.event_id,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "features": plain,
        }


def latest_vectors(features: pd.DataFrame, spec: ProjectSpec) -> list[FeatureVector]:
    """The last row of each entity (by event time, then row id), as online vectors."""
    ordered = features.sort_values([ENTITY, TIME, ROW_ID], kind="stable")
    last = ordered.drop_duplicates(ENTITY, keep="last")
    columns = list(spec.feature_names)
    values = last[columns].astype(object).where(last[columns].notna(), float("nan"))
    return [
        FeatureVector(
            entity=str(entity),
            feature_set_id=str(feature_set),
            event_time=time.to_pydatetime(),
            event_id=str(event_id),
            features={c: _plain(v) for c, v in zip(columns, row, strict=True)},
        )
        for entity, feature_set, time, event_id, row in zip(
            last[ENTITY],
            last[FEATURE_SET],
            last[TIME],
            last[ROW_ID],
            values.itertuples(index=False, name=None),
            strict=True,
        )
    ]


def _plain(value: Any) -> Any:
    """msgpack takes Python scalars: numpy floats become float, categories their text."""
    if isinstance(value, str) or value is None:
        return value
    return float(value)


def vector_frame(vector: FeatureVector, spec: ProjectSpec) -> pd.DataFrame:
    """One model-input row from a stored vector, typed as the offline features are."""
    frame = pd.DataFrame([{c: vector.features.get(c) for c in spec.feature_names}])
    frame[list(spec.numeric_inputs)] = frame[list(spec.numeric_inputs)].astype(float)
    categorical = list(spec.categorical_inputs)
    frame[categorical] = frame[categorical].astype("int64")
    return frame
