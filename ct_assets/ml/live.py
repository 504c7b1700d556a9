"""The closed loop's figures: how the models that serve do on labels they never trained on.

Pure: the champion's prequential ("test then train") score on each new labeled partition, its
baking period, the served predictions joined to their delayed labels, and the per-version
summary that live monitoring shows. No Dagster or MLflow import.

The figures are in three modules, by concern: `live_score` (the prequential score),
`live_labels` (served answers joined to delayed labels) and `live_verdicts` (the live checks);
every name stays importable from here.
"""

from ct_assets.ml.live_labels import (
    LIVE_COLUMNS,
    join_labels,
    live_table,
    per_version,
    read_labels,
)
from ct_assets.ml.live_score import (
    GAP_EXCEEDED,
    LABEL_SHIFTED,
    LIVE_DEGRADED,
    NAN,
    NONE,
    REQUEST_ID,
    ROW,
    ChampionScore,
    is_baking,
    measured,
    scored_since,
    unscored,
    value_or_nan,
    worse_by,
)
from ct_assets.ml.live_verdicts import (
    LiveJudgement,
    Verdict,
    degradation,
    evaluation_gap,
    label_shift,
    likely_causes,
    not_judged,
)

__all__ = [
    "GAP_EXCEEDED",
    "LABEL_SHIFTED",
    "LIVE_COLUMNS",
    "LIVE_DEGRADED",
    "NAN",
    "NONE",
    "REQUEST_ID",
    "ROW",
    "ChampionScore",
    "LiveJudgement",
    "Verdict",
    "degradation",
    "evaluation_gap",
    "is_baking",
    "join_labels",
    "label_shift",
    "likely_causes",
    "live_table",
    "measured",
    "not_judged",
    "per_version",
    "read_labels",
    "scored_since",
    "unscored",
    "value_or_nan",
    "worse_by",
]
