"""Stage 3b, online features: each entity's latest vector in the online store, after every
features partition, so serving reads exactly what training read.

Only for a dataset with an entity: without one there is no history to look up at serving time,
and a request carries every feature itself.
"""

import time

import dagster as dg
import pandas as pd

from ct_assets.ml.frames import FEATURE_SET
from ct_assets.ml.online import latest_vectors
from ct_assets.names import ONLINE_FEATURES
from ct_assets.project.load import Project
from ct_assets.stages.common import after_upstream, stage_asset
from resources.online_store import OnlineStore


def build_online_features(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    if spec.dataset.entity is None:
        return []

    @stage_asset(
        ONLINE_FEATURES,
        group="features",
        partitions=partitions,
        project=project,
        code_version="2",
        kinds={"redis"},
        automation=after_upstream(),
    )
    def online_features(
        context: dg.AssetExecutionContext, features: pd.DataFrame, online_store: OnlineStore
    ) -> dg.MaterializeResult:
        """The latest feature vector of every entity of the partition, in the online store."""
        vectors = latest_vectors(features, spec)
        started = time.perf_counter()
        written = online_store.write(vectors)
        seconds = time.perf_counter() - started
        if written < len(vectors):
            context.log.info(f"{len(vectors) - written} entities already hold a newer vector: kept")
        return dg.MaterializeResult(
            metadata={
                "entities": len(vectors),
                "written": written,
                "kept_newer": len(vectors) - written,
                "feature_set_id": str(features[FEATURE_SET].iloc[0]),
                "store": online_store.location(),
                "vectors_per_second": round(len(vectors) / seconds) if seconds else 0,
            }
        )

    return [online_features]
