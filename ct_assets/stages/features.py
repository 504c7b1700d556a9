"""Stage 3, features: the model's inputs, one row per validated event, point-in-time correct.

Window features read the partitions before this one, as far back as the longest window, through
a partition mapping: each event's aggregates use only its entity's earlier events.
"""

import math
from typing import Any

import dagster as dg
import pandas as pd

from ct_assets.ml.feature_spec import window_spec
from ct_assets.ml.features import CODE_VERSION, FeatureReport, build_features, feature_set_id
from ct_assets.ml.frames import BATCH
from ct_assets.ml.records import FeatureRows
from ct_assets.names import FEATURES
from ct_assets.partitions import frames_by_partition
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from ct_assets.stages.common import after_history_upstream, stage_asset


def lookback_partitions(spec: ProjectSpec) -> int:
    """Earlier partitions the longest window can reach into."""
    return math.ceil(window_spec(spec).lookback / spec.partitions.period.length)


def definitions_table(spec: ProjectSpec) -> str:
    """Every feature, where it comes from and how, for the UI."""
    rows = [
        {"feature": c, "from": c, "how": f"as declared ({spec.column(c).type})"}
        for c in spec.features.columns
    ]
    for t in spec.features.transforms:
        rows.append({"feature": t.name, "from": ", ".join(t.sources), "how": t.op})
    rows += [
        {"feature": f.name, "from": f.source, "how": f"{f.aggregation} over {f.window}"}
        for f in window_spec(spec).features
    ]
    return pd.DataFrame(rows).to_markdown(index=False)


def build_feature_assets(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    set_id = feature_set_id(spec)

    @stage_asset(
        FEATURES,
        group="features",
        partitions=partitions,
        project=project,
        code_version=CODE_VERSION,
        kinds={"polars", "parquet"},
        automation=after_history_upstream(),
        ins={
            "validated_batches": dg.AssetIn(
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-lookback_partitions(spec)
                ),
                # History may have gaps (no delivery, or refused); windows then see less of it.
                metadata={"allow_missing_partitions": True},
            )
        },
    )
    def features(
        context: dg.AssetExecutionContext, validated_batches: Any
    ) -> dg.MaterializeResult[pd.DataFrame]:
        """Per-event model inputs: the event's own, as declared, and its entity's history."""
        parts: dict[str, pd.DataFrame] = frames_by_partition(
            context, "validated_batches", validated_batches
        )
        key = context.partition_key
        events = parts.get(key)
        if events is None or events.empty:
            # Every batch of the day is in quarantine: the stages after this one must not run
            # on an empty day, and the UI should say why.
            raise dg.Failure(
                f"{key} has no valid events: its batches are in quarantine "
                "(`ct quarantine list`); nothing to compute until one is re-admitted",
                allow_retries=False,
            )
        earlier = [frame for k, frame in sorted(parts.items()) if k < key and not frame.empty]
        history = pd.concat(earlier, ignore_index=True) if earlier else None
        report = FeatureReport()
        frame = build_features(events, spec, history, report)
        for column, unseen in report.unseen.items():
            context.log.warning(
                f"{column}: {unseen['rows']} rows hold values outside its categories "
                f"({', '.join(unseen['values'])}): encoded as unknown"
            )
        return dg.MaterializeResult(
            value=frame,
            metadata={
                "dagster/row_count": len(frame),
                "feature_set_id": set_id,
                "feature_columns": ", ".join(spec.feature_names),
                "definitions": dg.MetadataValue.md(definitions_table(spec)),
                "unseen_category_rows": report.unseen_rows,
                "unseen_categories": dg.MetadataValue.json(report.unseen),
                "history_partitions": ", ".join(k for k in sorted(parts) if k < key) or "none",
                "history_rows": 0 if history is None else len(history),
                "batch_ids": ", ".join(sorted(frame[BATCH].unique())),
                **FeatureRows(rows=len(frame), unseen_category_rows=report.unseen_rows).entry(),
            },
        )

    return [features]
