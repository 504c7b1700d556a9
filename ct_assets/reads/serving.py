"""Scoring one entity online: the champion (or a given version) on the entity's stored vector.

A model only ever scores features of the feature set it was trained on; anything else is refused
(`FeatureSetMismatch`) rather than silently mis-scored.
"""

from typing import Any

from ct_assets.ml.online import vector_frame
from ct_assets.ml.training import predict
from ct_assets.project.spec import ProjectSpec
from resources.mlflow_registry import MlflowRegistry
from resources.online_store import OnlineStore


def score_entity(
    registry: MlflowRegistry,
    store: OnlineStore,
    entity: str,
    spec: ProjectSpec,
    version: str | None = None,
) -> dict[str, Any]:
    chosen = version or registry.champion_version()
    if chosen is None:
        raise LookupError(f"no champion in {registry.registered_model} to score {entity}")
    vector = store.get(entity)
    if vector is None:
        raise LookupError(f"no online features for entity {entity!r} in {store.location()}")
    family, model = registry.load_for(chosen, vector.feature_set_id)
    value = float(predict(family, model, vector_frame(vector, spec))[0])
    return {
        "entity": entity,
        "version": chosen,
        "feature_set_id": vector.feature_set_id,
        "as_of": vector.event_time.isoformat(),
        "score": value,
    }
