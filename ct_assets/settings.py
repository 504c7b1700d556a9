"""Pipeline settings: one place that turns CT_* environment variables into typed values.

Dagster needs partition definitions and partition mappings when the code location loads, so the
few settings that shape the asset graph are read once, here, when `definitions.py` is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path

import pandas as pd

from ct_assets.ml.gates import GatePolicy, parse_bounds
from ct_assets.ml.hpo import SearchBudget
from ct_assets.ml.infra_validation import InfraBudget
from ct_assets.ml.quality import DIMENSIONS, QualityThresholds
from ct_assets.ml.selection import SelectionConfig
from ct_assets.ml.split_strategies import BUILT_IN, CUSTOM
from ct_assets.ml.vocabulary import FAMILIES, METRICS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GRANULARITIES = ("hourly", "daily", "weekly")
# Sources pulled by their own sensor; the file drop is always on.
PULLED_SOURCES = ("sql_table", "redis_stream", "http_api")


def duration(text: str) -> timedelta:
    """'90s', '15m', '26h', '7d' (anything pandas reads as a Timedelta)."""
    try:
        value = pd.Timedelta(text).to_pytimedelta()
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 26h or 7d") from exc
    if value <= timedelta(0):
        raise ValueError(f"{text!r}: a duration must be positive")
    return value


@dataclass(frozen=True)
class PipelineSettings:
    """Everything that shapes the asset graph and its gates."""

    home: Path = PROJECT_ROOT / ".ct"
    partition_start: str = "2026-01-01"
    granularity: str = "daily"
    training_window: int = 7
    holdout_fraction: float = 0.2
    # time (default), sequential, random, shuffled, stratified, group, or custom:module:function
    split_strategy: str = "time"
    split_seed: int = 0
    # Candidate families trained on every window (CT_CANDIDATES).
    families: tuple[str, ...] = FAMILIES
    # The incremental candidate's chain of refreshes ends after this many partitions.
    full_retrain_every: int = 7
    incremental_rounds: int = 30
    # Hyper-parameter search of the LightGBM candidate (off unless CT_HPO_TRIALS > 0).
    search: SearchBudget = field(default_factory=SearchBudget)
    # Floors, margin over the champion and slice tolerance of the promotion gates.
    gates: GatePolicy = field(default_factory=GatePolicy)
    slice_columns: tuple[str, ...] = ("channel", "country")
    # Slices with fewer holdout rows are listed but not judged: their AUC would be noise.
    slice_min_rows: int = 100
    # Infrastructure gate: a candidate must load in a fresh process within these budgets.
    infra: InfraBudget = field(default_factory=InfraBudget)
    # No promotion decision for this long: the production model is overdue and is retrained.
    model_freshness_warn: timedelta = timedelta(hours=26)
    model_freshness_fail: timedelta = timedelta(hours=48)
    registered_model: str = "ct-model"
    sensor_interval_seconds: int = 5
    environment: str = "local"
    drift_share_threshold: float = 0.5
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    # Dimensions whose failure stops the partition; the others warn.
    quality_blocking: frozenset[str] = frozenset({"uniqueness", "label_balance"})
    # Where files are dropped: a local folder (default `<home>/landing`) or s3://bucket/prefix.
    landing_url: str | None = None
    pulled_sources: tuple[str, ...] = ()
    # A source with no delivery for this long shows as overdue (warn, then fail) and alerts.
    source_freshness_warn: timedelta = timedelta(hours=26)
    source_freshness_fail: timedelta = timedelta(hours=36)
    selection: SelectionConfig = field(default_factory=SelectionConfig)

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
        unknown_sources = set(self.pulled_sources) - set(PULLED_SOURCES)
        if unknown_sources:
            raise ValueError(
                f"CT_SOURCES names unknown sources {sorted(unknown_sources)}; "
                f"known: {', '.join(PULLED_SOURCES)} (the file drop is always on)"
            )
        if self.source_freshness_warn < timedelta(minutes=1):
            # Dagster's freshness policies refuse windows under a minute.
            raise ValueError("CT_SOURCE_FRESHNESS_WARN must be at least 1 minute")
        if self.source_freshness_warn > self.source_freshness_fail:
            raise ValueError("CT_SOURCE_FRESHNESS_WARN must not be longer than ..._FAIL")
        if self.split_strategy not in BUILT_IN and not self.split_strategy.startswith(CUSTOM):
            raise ValueError(
                f"CT_SPLIT_STRATEGY={self.split_strategy!r}: expected one of "
                f"{', '.join(BUILT_IN)} or {CUSTOM}module:function"
            )
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"CT_HOLDOUT_FRACTION={self.holdout_fraction}: must be in (0, 1)")
        unknown_families = set(self.families) - set(FAMILIES)
        if unknown_families or not self.families:
            raise ValueError(
                f"CT_CANDIDATES={','.join(self.families)!r}: expected some of {', '.join(FAMILIES)}"
            )
        if self.full_retrain_every < 1:
            raise ValueError(f"CT_FULL_RETRAIN_EVERY={self.full_retrain_every}: must be >= 1")
        if self.model_freshness_warn > self.model_freshness_fail:
            raise ValueError("CT_MODEL_FRESHNESS_WARN must not be longer than ..._FAIL")

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def landing(self) -> str:
        return self.landing_url or str(self.landing_dir)

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

    def names(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p.strip() for p in get(name, ",".join(default)).split(",") if p.strip())

    if "CT_AUC_FLOOR" in env:
        raise ValueError(
            "invalid ct setting: CT_AUC_FLOOR is replaced by CT_GATE_FLOORS "
            f"(e.g. CT_GATE_FLOORS='roc_auc>={env['CT_AUC_FLOOR']}')"
        )

    try:
        return PipelineSettings(
            home=Path(get("HOME", defaults.home)).resolve(),
            partition_start=get("PARTITION_START", defaults.partition_start),
            granularity=get("GRANULARITY", defaults.granularity),
            training_window=int(get("TRAINING_WINDOW", defaults.training_window)),
            holdout_fraction=float(get("HOLDOUT_FRACTION", defaults.holdout_fraction)),
            split_strategy=get("SPLIT_STRATEGY", defaults.split_strategy),
            split_seed=int(get("SPLIT_SEED", defaults.split_seed)),
            families=names("CANDIDATES", defaults.families),
            full_retrain_every=int(get("FULL_RETRAIN_EVERY", defaults.full_retrain_every)),
            incremental_rounds=int(get("INCREMENTAL_ROUNDS", defaults.incremental_rounds)),
            search=SearchBudget(
                trials=int(get("HPO_TRIALS", defaults.search.trials)),
                timeout_seconds=float(get("HPO_TIMEOUT_SECONDS", defaults.search.timeout_seconds)),
            ),
            gates=GatePolicy(
                floors=parse_bounds(get("GATE_FLOORS", "roc_auc>=0.6"), METRICS),
                margin=float(get("PROMOTION_MARGIN", defaults.gates.margin)),
                slice_tolerance=float(get("SLICE_TOLERANCE", defaults.gates.slice_tolerance)),
            ),
            slice_columns=names("SLICE_COLUMNS", defaults.slice_columns),
            slice_min_rows=int(get("SLICE_MIN_ROWS", defaults.slice_min_rows)),
            infra=InfraBudget(
                latency_ms_p95=float(get("LATENCY_BUDGET_MS", defaults.infra.latency_ms_p95)),
                size_mb=float(get("SIZE_BUDGET_MB", defaults.infra.size_mb)),
            ),
            model_freshness_warn=duration(get("MODEL_FRESHNESS_WARN", "26h")),
            model_freshness_fail=duration(get("MODEL_FRESHNESS_FAIL", "48h")),
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
            landing_url=env.get("CT_LANDING_URL") or None,
            pulled_sources=tuple(
                s.strip() for s in env.get("CT_SOURCES", "").split(",") if s.strip()
            ),
            selection=SelectionConfig(
                enabled=get("FEATURE_SELECTION", "on").lower() in ("on", "1", "true", "yes"),
                near_constant_share=float(
                    get("SELECTION_NEAR_CONSTANT", defaults.selection.near_constant_share)
                ),
                max_null_share=float(get("SELECTION_MAX_NULL", defaults.selection.max_null_share)),
                top_k=int(get("SELECTION_TOP_K", defaults.selection.top_k)),
            ),
            source_freshness_warn=duration(get("SOURCE_FRESHNESS_WARN", "26h")),
            source_freshness_fail=duration(get("SOURCE_FRESHNESS_FAIL", "36h")),
            quality_blocking=frozenset(
                d.strip()
                for d in get("DQ_BLOCKING", ",".join(sorted(defaults.quality_blocking))).split(",")
                if d.strip()
            ),
        )
    except ValueError as exc:
        raise ValueError(f"invalid ct setting: {exc}") from exc
