"""The MLflow tracking store and model registry: candidates in, the `champion` alias out."""

from __future__ import annotations

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
    ModelLineage,
    Promotion,
    Provenance,
    Registration,
    history_moves,
    history_tag,
)
from resources.mlflow_candidates import (
    candidate_key,
    log_candidate,
    registration_complete,
)
from resources.mlflow_runs import log_evaluation, log_holdout_metrics, log_trial
from resources.mlflow_store import file_lock, open_client

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from ct_assets.ml.families import TrainedModel

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


class MlflowRegistry(dg.ConfigurableResource):
    """One registered model whose `champion` alias is the serving pointer."""

    tracking_uri: str
    # None: the tracking server decides (a server proxying an S3 artifact store).
    artifact_root: str | None = None
    experiment: str = "ct"
    registered_model: str = "ct-model"

    def client(self) -> MlflowClient:
        return open_client(self.tracking_uri)

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
        log_trial(self, parent_run_id, number, params, value, metric)

    def log_candidate(
        self,
        trained: TrainedModel,
        example: pd.DataFrame,
        metrics: dict[str, float],
        tags: dict[str, str],
        run_id: str | None = None,
    ) -> dict[str, str]:
        """Log one candidate in its run (a new one unless `run_id` names an open one) and
        register it as a new model version carrying the same tags; a candidate registered and
        complete under the same key comes back as it is (see `mlflow_candidates`)."""
        return log_candidate(self, trained, example, metrics, tags, run_id)

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
        log_holdout_metrics(self, run_id, metrics)

    def log_evaluation(
        self,
        partition: str,
        tags: dict[str, str],
        images: dict[str, bytes],
        tables: dict[str, pd.DataFrame],
    ) -> str:
        """One run per evaluation: the curves (PNG) and tables that compared the models."""
        return log_evaluation(self, partition, tags, images, tables)

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
        with file_lock(Path(f"{store}.alias.lock")):
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
