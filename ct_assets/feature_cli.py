"""`ct features get ENTITY`: what serving would read for an entity, and optionally its score."""

import json
from typing import Any

import dagster as dg

from ct_assets.serving import score_entity
from resources.environments import resolved_resources


def get_entity(defs: dg.Definitions, entity: str, score: bool) -> int:
    keys = ("online_store", "mlflow") if score else ("online_store",)
    with resolved_resources(defs, *keys) as resources:
        vector = resources.online_store.get(entity)
        if vector is None:
            print(
                f"no online features for entity {entity!r} in {resources.online_store.location()}"
            )
            return 1
        shown: dict[str, Any] = vector.as_dict()
        if score:
            shown["champion"] = score_entity(resources.mlflow, resources.online_store, entity)
    print(json.dumps(shown, indent=2))
    return 0
