"""The MLflow tracking store and model registry: candidates in, the `champion` alias out."""

from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from ct_assets.crash import crash_point
from ct_assets.ml.tags import (
    CANDIDATE_KEY_TAG,
    COMPLETE,
    FAMILY_TAG,
    FEATURE_SET_TAG,
    HISTORY_PREFIX,
    PENDING,
    REGISTRATION_TAG,
    RUN_SPECIFIC_TAGS,
    Chain,
    ModelLineage,
    Promotion,
    Provenance,
    Registration,
    Trial,
    history_moves,
    history_tag,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from ct_assets.ml.training import TrainedModel

CHAMPION = "champion"
# The best candidate the last decision refused: what serving scores in shadow.
CHALLENGER = "challenger"
# The tag keys are named by ct_assets.ml.tags; these names stay importable from here.
__all__ = [
    "CANDIDATE_KEY_TAG",
    "CHALLENGER",
    "CHAMPION",
    "COMPLETE",
    "FAMILY_TAG",
    "FEATURE_SET_TAG",
    "HISTORY_PREFIX",
    "PENDING",
    "REGISTRATION_TAG",
    "RUN_SPECIFIC_TAGS",
    "IncompleteVersion",
    "MlflowRegistry",
    "StaleChampion",
    "candidate_key",
    "registration_complete",
]


class StaleChampion(ValueError):
    """The champion moved between a judgement on it and the action the judgement asked for."""


class IncompleteVersion(ValueError):
    """A version whose registration never finished (its process died): never promoted or served."""


def candidate_key(tags: dict[str, str]) -> str:
    """The identity of a candidate: its family, partition, window and training data, code and
    configuration (every tag but the run-specific ones), hashed to fit a tag value."""
    kept = {k: v for k, v in sorted(tags.items()) if k not in RUN_SPECIFIC_TAGS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:32]


def registration_complete(tags: dict[str, str]) -> bool:
    """Whether a version's registration finished (see `Registration`)."""
    return Registration.of(tags).complete


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


# Local SQLite stores this process has seen created and migrated (see `_created`).
_READY_STORES: set[str] = set()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class MlflowRegistry(dg.ConfigurableResource):
    """One registered model whose `champion` alias is the serving pointer."""

    tracking_uri: str
    # None: the tracking server decides (a server proxying an S3 artifact store).
    artifact_root: str | None = None
    experiment: str = "ct"
    registered_model: str = "ct-model"

    def client(self) -> MlflowClient:
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        store = self.tracking_uri.removeprefix("sqlite:///")
        if store == self.tracking_uri or store in _READY_STORES:
            return mlflow.MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
        # A local SQLite store is created and migrated by one process at a time: every process
        # that opens a missing store migrates it, and two doing so at once (two ct commands on
        # a fresh project, a sensor tick and a run) fail on MLflow's alembic version row.
        with _file_lock(Path(f"{store}.create.lock")):
            # The client opens the tracking store; the registry's opens on first use.
            client = mlflow.MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
            client.search_registered_models(max_results=1)
        _READY_STORES.add(store)
        return client

    def experiment_id(self) -> str:
        client = self.client()
        found = client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        location = self.artifact_root
        if location is not None and "://" not in location:
            Path(location).mkdir(parents=True, exist_ok=True)
            location = Path(location).resolve().as_uri()
        try:
            return client.create_experiment(self.experiment, artifact_location=location)
        except Exception:
            # Another run created it between our look-up and our create.
            existing = client.get_experiment_by_name(self.experiment)
            if existing is None:
                raise
            return existing.experiment_id

    def model_uri(self, version: str) -> str:
        return f"models:/{self.registered_model}/{version}"

    def start_candidate_run(self, family: str, partition: str) -> str:
        """An MLflow run for one candidate; search trials hang under it as child runs, and the
        model is logged into it (`log_candidate` resumes it). Started through the fluent API so
        that MLflow records its source tags (user, entry point, git commit) as usual."""
        import mlflow

        self.client()
        with mlflow.start_run(
            experiment_id=self.experiment_id(), run_name=f"{family}-{partition}"
        ) as run:
            return str(run.info.run_id)

    def log_trial(
        self,
        parent_run_id: str,
        number: int,
        params: dict[str, Any],
        value: float,
        metric: str = "roc_auc",
    ) -> None:
        """One search trial as a child run of its candidate's run."""
        from mlflow.entities import Metric, Param

        client = self.client()
        parent = client.get_run(parent_run_id)
        child = client.create_run(
            parent.info.experiment_id,
            run_name=f"trial-{number}",
            tags={"mlflow.parentRunId": parent_run_id, **Trial(number=number).tags()},
        )
        client.log_batch(
            child.info.run_id,
            metrics=[Metric(f"validation_{metric}", value, _now_ms(), 0)],
            params=[Param(k, str(v)) for k, v in params.items()],
        )
        client.set_terminated(child.info.run_id)

    def log_candidate(
        self,
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
        registered = self.registered_candidate(key)
        if registered is not None:
            return {**registered, "reused": "true"}
        all_tags.update(Registration(family=trained.family, candidate_key=key).tags())
        if run_id is None:
            partition = ModelLineage.of(tags).partition or ""
            run_id = self.start_candidate_run(trained.family, partition)
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
                self.registered_model,
                tags={**all_tags, **Registration(state=PENDING).tags()},
            ).version
        )
        crash_point("registry.version.registered")
        for name, value in Registration(state=COMPLETE).tags().items():
            self.client().set_model_version_tag(self.registered_model, version, name, value)
        crash_point("registry.version.tagged")
        return {
            "family": trained.family,
            "run_id": run_id,
            "version": version,
            "model_uri": self.model_uri(version),
            "mode": Chain.of(all_tags).mode,
            "reused": "false",
        }

    def registered_candidate(self, key: str) -> dict[str, str] | None:
        """The complete version registered under a candidate key, if any (the newest): what a
        retry returns instead of registering the same candidate again. A pending version under
        the key (its registration died half-way) is passed over, and stays unpromotable."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client().search_model_versions(
                f"name = '{self.registered_model}' and tags.`{CANDIDATE_KEY_TAG}` = '{key}'"
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
            "model_uri": self.model_uri(version),
            "mode": Chain.of(tags).mode,
        }

    def is_complete(self, version: str) -> bool:
        """Whether a version's registration finished (see `Registration`)."""
        return registration_complete(self.version_tags(version))

    def require_complete(self, version: str) -> None:
        if not self.is_complete(version):
            raise IncompleteVersion(
                f"{self.registered_model} v{version} was never completely registered (its "
                "process died while registering it): it is never promoted or served"
            )

    def log_holdout_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        """A candidate's holdout figures beside its training ones, in its own run."""
        from mlflow.entities import Metric

        at = _now_ms()
        self.client().log_batch(
            run_id, metrics=[Metric(f"holdout_{k}", float(v), at, 0) for k, v in metrics.items()]
        )

    def log_evaluation(
        self,
        partition: str,
        tags: dict[str, str],
        images: dict[str, bytes],
        tables: dict[str, pd.DataFrame],
    ) -> str:
        """One run per evaluation: the curves (PNG) and tables that compared the models."""
        client = self.client()
        run = client.create_run(self.experiment_id(), run_name=f"evaluation-{partition}", tags=tags)
        run_id = str(run.info.run_id)
        with tempfile.TemporaryDirectory() as tmp:
            for name, image in images.items():
                (Path(tmp) / f"{name}.png").write_bytes(image)
            client.log_artifacts(run_id, tmp)
        for name, table in tables.items():
            client.log_table(run_id, data=table, artifact_file=f"{name}.json")
        client.set_terminated(run_id)
        return run_id

    def version_tags(self, version: str) -> dict[str, str]:
        return dict(self.client().get_model_version(self.registered_model, version).tags)

    def load(self, version: str) -> tuple[str, Any]:
        """The model of a version in its native flavour, with its family."""
        from ct_assets.ml import families

        family = Registration.of(self.version_tags(version)).family
        if family is None:
            raise KeyError(f"{self.registered_model} v{version} has no {FAMILY_TAG} tag")
        self.client()
        return family, families.get(family).load(self.model_uri(version))

    def load_for(self, version: str, feature_set_id: str) -> tuple[str, Any]:
        """Load a version only to score features of the set it was trained on."""
        from ct_assets.ml.feature_spec import check_feature_set

        model_set = Provenance.of(self.version_tags(version)).feature_set_id
        check_feature_set(model_set, feature_set_id, f"model version {version}")
        return self.load(version)

    def champion_version(self) -> str | None:
        return self.alias_version(CHAMPION)

    def alias_version(self, alias: str) -> str | None:
        """The version an alias points at; None when the model or the alias does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            model = self.client().get_registered_model(self.registered_model)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        version = model.aliases.get(alias)
        return None if version is None else str(version)

    def set_alias(self, alias: str, version: str | None) -> None:
        """Point an alias other than the champion at a version (None removes it)."""
        if alias == CHAMPION:
            raise ValueError("the champion alias moves only through promote or rollback")
        client = self.client()
        if version is None:
            if self.alias_version(alias) is not None:
                client.delete_registered_model_alias(self.registered_model, alias)
            return
        self.require_complete(version)
        client.set_registered_model_alias(self.registered_model, alias, version)

    def promotion_of(self, version: str) -> dict[str, Any] | None:
        """The latest move that made `version` the champion (promotion or rollback), if any."""
        moves = [e for e in self.history() if e["to"] == version]
        return moves[-1] if moves else None

    def previous_champion(self) -> str | None:
        """The version the current champion replaced by a promotion: what answers when the
        champion fails. None after a rollback: the version it moved away from was judged bad."""
        current = self.champion_version()
        move = self.promotion_of(current) if current else None
        if not move or move.get("kind") == "rollback" or not move.get("from"):
            return None
        return str(move["from"])

    def promote(
        self,
        version: str,
        previous: str | None,
        reason: str,
        kind: str = "promote",
        gates: dict[str, Any] | None = None,
        partition: str | None = None,
    ) -> None:
        """Record the move in the model's history, then move the alias (one registry write, so
        serving sees the old or the new version, never neither) and mark the version.

        The history record is the decision and is written first: a process that dies after it
        leaves a move recorded but not applied, which the next holder of `alias_lock` carries
        out (`reconcile`); the other order would leave a champion that no record explains, and
        a retried decision could not tell its own move from anyone else's.
        """
        self.require_complete(version)
        moment = datetime.now(UTC)
        entry: dict[str, Any] = {
            "kind": kind,
            "to": version,
            "from": previous,
            "at": moment.isoformat(),
            "reason": reason,
        }
        if partition is not None:
            entry["partition"] = partition
        if gates:
            entry["gates"] = gates
        self.client().set_registered_model_tag(self.registered_model, *history_tag(moment, entry))
        crash_point("promotion.history.recorded")
        self._apply(entry)

    def _apply(self, entry: dict[str, Any]) -> None:
        """Make the alias and the version's marks say what a history record says (idempotent)."""
        client = self.client()
        version = entry["to"]
        client.set_registered_model_alias(self.registered_model, CHAMPION, version)
        crash_point("promotion.alias.moved")
        marks = Promotion(
            reason=entry["reason"], previous_champion=entry["from"], promoted_at=entry["at"]
        )
        # In order, `promoted_at` last: `reconcile` reads it to know the move was applied in full.
        for name, value in marks.tags().items():
            client.set_model_version_tag(self.registered_model, version, name, value)

    def reconcile(self) -> dict[str, Any] | None:
        """Carry out the last recorded move if its process died before applying it in full;
        the move carried out, if any.

        The history is the single source of truth for the champion. The last record is
        applied when the alias still shows the version it moved from (the move never
        happened) or shows its target without the version's marks (it half happened). An alias
        pointing anywhere else was moved outside ct and is left alone.
        """
        moves = self.history()
        if not moves:
            return None
        last = moves[-1]
        current = self.champion_version()
        if current is not None and current == last["to"]:
            if Promotion.of(self.version_tags(current)).promoted_at == last["at"]:
                return None
        elif current != last.get("from"):
            return None
        self._apply(last)
        return last

    def history(self) -> list[dict[str, Any]]:
        """Every move of the champion alias, oldest first."""
        from mlflow.exceptions import MlflowException

        try:
            tags = self.client().get_registered_model(self.registered_model).tags
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return []  # nothing registered yet: no move either
            raise
        return history_moves(tags)

    def versions(self) -> list[dict[str, Any]]:
        """Every registered version with what it was trained on and its aliases (none before
        the first is registered)."""
        from mlflow.exceptions import MlflowException

        client = self.client()
        try:
            model = client.get_registered_model(self.registered_model)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return []
            raise
        aliases: dict[str, list[str]] = {}
        for alias, version in model.aliases.items():
            aliases.setdefault(str(version), []).append(alias)
        found = client.search_model_versions(f"name='{self.registered_model}'")
        return [
            {
                "version": str(v.version),
                "family": Registration.of(v.tags).family or "",
                "partition": ModelLineage.of(v.tags).partition or "",
                "feature_set_id": Provenance.of(v.tags).feature_set_id or "",
                "aliases": ",".join(sorted(aliases.get(str(v.version), []))),
                "created": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(),
            }
            for v in sorted(found, key=lambda v: int(v.version))
        ]

    @contextmanager
    def alias_lock(self) -> Iterator[None]:
        """Hold the right to read and move the `champion` alias, across processes.

        Decisions already run in a concurrency pool of one; on the embedded SQLite instance
        two steps that claim the pool's slot at the same instant can both get it (Dagster's
        SQLite claims are not atomic across processes), so a registry in a local file store is
        also locked here. A registry on a tracking server is shared by machines a file lock
        cannot reach: there the pool, on PostgreSQL, is what serialises.

        Whoever takes the lock first completes a move its holder recorded and died before
        applying (`reconcile`): every reader under the lock sees the alias the history says.
        """
        store = self.tracking_uri.removeprefix("sqlite:///")
        if store == self.tracking_uri:
            self.reconcile()
            yield
            return
        with _file_lock(Path(f"{store}.alias.lock")):
            self.reconcile()
            yield

    def rollback(
        self, reason: str, to: str | None = None, expected: str | None = None
    ) -> dict[str, Any]:
        """Move the champion back: to `to`, or to the version the current one replaced.

        `expected` is the champion the caller judged: if another move landed since, nothing
        moves (`StaleChampion`), so a verdict on one version never demotes the next.
        """
        with self.alias_lock():
            return self._rollback(reason, to, expected)

    def _rollback(self, reason: str, to: str | None, expected: str | None) -> dict[str, Any]:
        current = self.champion_version()
        if expected is not None and current != expected:
            raise StaleChampion(f"the champion is v{current}, not v{expected} as judged")
        if to is None:
            moves = [e for e in self.history() if e["to"] == current and e.get("from")]
            if current is None:
                raise ValueError(f"{self.registered_model} has no champion yet: nothing to undo")
            if not moves:
                raise ValueError(
                    f"champion v{current} replaced no earlier version: name one with --to"
                )
            to = str(moves[-1]["from"])
        known = {v["version"] for v in self.versions()}
        if to not in known:
            raise ValueError(
                f"{self.registered_model} has no version {to}; known: {sorted(known, key=int)}"
            )
        if to == current:
            raise ValueError(f"v{to} is already the champion")
        self.promote(to, current, reason, kind="rollback")
        return {"from": current, "to": to, "reason": reason}
