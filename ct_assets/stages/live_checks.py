"""The champion's live verdicts as Dagster sees them: each verdict's asset check, the severity
of its failure, and the kind of alert it sends."""

import dagster as dg

from ct_assets.ml.live_verdicts import LiveJudgement, Verdict
from ct_assets.names import GAP_CHECK, LABEL_SHIFT_CHECK, LIVE_CHECK

# How each verdict is shown: its check, the severity of a failure, the alert's kind. A live
# degradation and a misleading evaluation are red (ERROR; never blocking: the retrain that
# answers them must run); a moved label rate is a warning.
VERDICT_CHECKS = (
    ("live", LIVE_CHECK, dg.AssetCheckSeverity.ERROR, "live_degradation"),
    ("gap", GAP_CHECK, dg.AssetCheckSeverity.ERROR, "evaluation_gap"),
    ("shift", LABEL_SHIFT_CHECK, dg.AssetCheckSeverity.WARN, "label_shift"),
)


def verdicts(judged: LiveJudgement) -> list[tuple[str, Verdict, dg.AssetCheckSeverity, str]]:
    return [(check, getattr(judged, f), sev, kind) for f, check, sev, kind in VERDICT_CHECKS]


def check_results(judged: LiveJudgement) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=check,
            passed=verdict.passed,
            severity=severity,
            description=verdict.text,
            metadata={"judged": verdict.judged, **verdict.figures},
        )
        for check, verdict, severity, _ in verdicts(judged)
    ]
