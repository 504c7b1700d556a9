"""Pipeline settings: one place that turns CT_* environment variables into typed values.

Dagster needs partition definitions and partition mappings when the code location loads, so the
few settings that shape the asset graph are read once, here, when `definitions.py` is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ct_assets.ml.quality import DIMENSIONS, QualityThresholds

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GRANULARITIES = ("hourly", "daily", "weekly")


@dataclass(frozen=True)
class PipelineSettings:
    """Everything that shapes the asset graph and its gates."""

    home: Path = PROJECT_ROOT / ".ct"
    partition_start: str = "2026-01-01"
    granularity: str = "daily"
    training_window: int = 7
    holdout_fraction: float = 0.2
    auc_floor: float = 0.6
    promotion_margin: float = 0.01
    registered_model: str = "ct-model"
    sensor_interval_seconds: int = 5
    environment: str = "local"
    drift_share_threshold: float = 0.5
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    # Dimensions whose failure stops the partition; the others warn.
    quality_blocking: frozenset[str] = frozenset({"uniqueness", "label_balance"})

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise ValueError(
                f"CT_GRANULARITY={self.granularity!r}: expected one of {', '.join(GRANULARITIES)}"
            )
        if self.training_window < 1:
            raise ValueError(f"CT_TRAINING_WINDOW={self.training_window}: must be at least 1")
        unknown = self.quality_blocking - set(DIMENSIONS)
        if unknown:
            raise ValueError(
                f"CT_DQ_BLOCKING names unknown dimensions {sorted(unknown)}; "
                f"known: {', '.join(DIMENSIONS)}"
            )
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"CT_HOLDOUT_FRACTION={self.holdout_fraction}: must be in (0, 1)")

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"


def load_settings(environ: dict[str, str] | None = None) -> PipelineSettings:
    """Read CT_* variables; anything unset keeps the local default."""
    env = os.environ if environ is None else environ
    defaults = PipelineSettings()

    def get(name: str, default: object) -> str:
        return env.get(f"CT_{name}", str(default))

    try:
        return PipelineSettings(
            home=Path(get("HOME", defaults.home)).resolve(),
            partition_start=get("PARTITION_START", defaults.partition_start),
            granularity=get("GRANULARITY", defaults.granularity),
            training_window=int(get("TRAINING_WINDOW", defaults.training_window)),
            holdout_fraction=float(get("HOLDOUT_FRACTION", defaults.holdout_fraction)),
            auc_floor=float(get("AUC_FLOOR", defaults.auc_floor)),
            promotion_margin=float(get("PROMOTION_MARGIN", defaults.promotion_margin)),
            registered_model=get("REGISTERED_MODEL", defaults.registered_model),
            sensor_interval_seconds=int(
                get("SENSOR_INTERVAL_SECONDS", defaults.sensor_interval_seconds)
            ),
            environment=env.get("CT_ENV", defaults.environment),
            drift_share_threshold=float(
                get("DRIFT_SHARE_THRESHOLD", defaults.drift_share_threshold)
            ),
            quality=QualityThresholds(
                **{
                    f.name: float(get(f"DQ_{f.name.upper()}", getattr(defaults.quality, f.name)))
                    for f in fields(QualityThresholds)
                }
            ),
            quality_blocking=frozenset(
                d.strip()
                for d in get("DQ_BLOCKING", ",".join(sorted(defaults.quality_blocking))).split(",")
                if d.strip()
            ),
        )
    except ValueError as exc:
        raise ValueError(f"invalid ct setting: {exc}") from exc
