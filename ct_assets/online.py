"""Stage 3b, online features: each entity's latest vector in the online store, after every
features partition, so serving reads exactly what training read."""

import time

import dagster as dg
import pandas as pd

from ct_assets.ml.features import FEATURE_SET
from ct_assets.ml.online import latest_vectors
from resources.online_store import OnlineStore
from sensors.automation import after_upstream

ONLINE_FEATURES = "online_features"


def build_online_features(
    partitions: dg.TimeWindowPartitionsDefinition,
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=ONLINE_FEATURES,
        partitions_def=partitions,
        group_name="features",
        code_version="1",
        kinds={"redis"},
        automation_condition=after_upstream(),
    )
    def online_features(
        context: dg.AssetExecutionContext, features: pd.DataFrame, online_store: OnlineStore
    ) -> dg.MaterializeResult:
        """The latest feature vector of every entity of the partition, in the online store."""
        vectors = latest_vectors(features)
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
