"""A candidate into the registry: logged in its run, registered with its tags as a new version
(pending, then complete), or found already registered under the same candidate key (a retried
run, the same training again) and handed back instead."""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import TYPE_CHECKING

import pandas as pd

from ct_assets.crash import crash_point
from ct_assets.ml.tags import (
    CANDIDATE_KEY_TAG,
    COMPLETE,
    PENDING,
    RUN_SPECIFIC_TAGS,
    Chain,
    ModelLineage,
    Registration,
)

if TYPE_CHECKING:
    from ct_assets.ml.families import TrainedModel
    from resources.mlflow_registry import MlflowRegistry


def candidate_key(tags: dict[str, str]) -> str:
    """The identity of a candidate: its family, partition, window and training data, code and
    configuration (every tag but the run-specific ones), hashed to fit a tag value."""
    kept = {k: v for k, v in sorted(tags.items()) if k not in RUN_SPECIFIC_TAGS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:32]


def registration_complete(tags: dict[str, str]) -> bool:
    """Whether a version's registration finished (see `Registration`)."""
    return Registration.of(tags).complete


def log_candidate(
    registry: MlflowRegistry,
    trained: TrainedModel,
    example: pd.DataFrame,
    metrics: dict[str, float],
    tags: dict[str, str],
    run_id: str | None = None,
) -> dict[str, str]:
    """Log one candidate in its run (a new one unless `run_id` names an open one) and
    register it as a new model version carrying the same tags.

    Idempotent: a candidate already registered and complete under the same key (a retried
    run, the same training data again) is returned as it is, not registered twice.
    """
    import mlflow
    from mlflow.models import infer_signature

    from ct_assets.ml import families

    family = families.get(trained.family)
    all_tags = {**tags, **trained.tags, **Registration(family=trained.family).tags()}
    key = candidate_key(all_tags)
    registered = registered_candidate(registry, key)
    if registered is not None:
        return {**registered, "reused": "true"}
    all_tags.update(Registration(family=trained.family, candidate_key=key).tags())
    if run_id is None:
        partition = ModelLineage.of(tags).partition or ""
        run_id = registry.start_candidate_run(trained.family, partition)
    # The signature names exactly the columns the model reads: serving may send more (they
    # are dropped by MLflow's schema enforcement), never fewer.
    example = example[family.features(trained.model)]
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot carry missing values. Ours never do: they
        # are int64 in the whole feature frame, and a missing category is the code -1.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, family.predict(trained.model, example))
    with mlflow.start_run(run_id=run_id):
        mlflow.set_tags(all_tags)
        mlflow.log_params({k: str(v) for k, v in trained.params.items()})
        mlflow.log_metrics(metrics)
        info = family.log(
            trained.model, name="model", signature=signature, input_example=example.head(5)
        )
    # Dying here leaves a finished run with a model and no version: nothing can serve it.
    crash_point("registry.model.logged")
    # Registered with its tags in one write, so no reader sees a version without them; as
    # pending, so nothing promotes it until the last write below says it is whole.
    version = str(
        mlflow.register_model(
            info.model_uri,
            registry.registered_model,
            tags={**all_tags, **Registration(state=PENDING).tags()},
        ).version
    )
    crash_point("registry.version.registered")
    for name, value in Registration(state=COMPLETE).tags().items():
        registry.client().set_model_version_tag(registry.registered_model, version, name, value)
    crash_point("registry.version.tagged")
    return {
        "family": trained.family,
        "run_id": run_id,
        "version": version,
        "model_uri": registry.model_uri(version),
        "mode": Chain.of(all_tags).mode,
        "reused": "false",
    }


def registered_candidate(registry: MlflowRegistry, key: str) -> dict[str, str] | None:
    """The complete version registered under a candidate key, if any (the newest): what a
    retry returns instead of registering the same candidate again. A pending version under
    the key (its registration died half-way) is passed over, and stays unpromotable."""
    from mlflow.exceptions import MlflowException

    try:
        found = registry.client().search_model_versions(
            f"name = '{registry.registered_model}' and tags.`{CANDIDATE_KEY_TAG}` = '{key}'"
        )
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    whole = [v for v in found if registration_complete(dict(v.tags))]
    if not whole:
        return None
    newest = max(whole, key=lambda v: int(v.version))
    version = str(newest.version)
    tags = dict(newest.tags)
    return {
        "family": Registration.of(tags).family or "",
        "run_id": str(newest.run_id),
        "version": version,
        "model_uri": registry.model_uri(version),
        "mode": Chain.of(tags).mode,
    }
