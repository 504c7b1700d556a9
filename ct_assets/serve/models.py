"""The models serving holds: champion, previous champion, challenger and pinned versions.

Each is loaded in its native flavour (a LightGBM Booster, a scikit-learn pipeline), never as an
MLflow pyfunc: pyfunc adds ~1.5 ms a call. A background thread polls the registry's aliases;
when the champion moves, the new version is loaded whole first and then one reference is
replaced (`ModelPool.state`), so a request sees the old set or the new one, never a mix.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ct_assets.ml import families
from ct_assets.ml.feature_spec import FeatureSetMismatch, check_feature_set
from ct_assets.project.spec import ProjectSpec

log = logging.getLogger("ct.serve")


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to score rows of `spec.feature_names` columns."""

    version: str
    family: str
    feature_set_id: str
    # The columns the model reads, in its order, and where each sits in a feature row.
    features: tuple[str, ...]
    index: tuple[int, ...]
    categorical: tuple[str, ...]
    model: Any

    @property
    def platform(self) -> str:
        return families.get(self.family).platform

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Scores of rows given in `spec.feature_names` order (a 2-D float array)."""
        columns = matrix if self.index == tuple(range(matrix.shape[1])) else matrix[:, self.index]
        return families.get(self.family).predict_matrix(
            self.model, columns, self.features, self.categorical
        )


Loader = Callable[[str], LoadedModel]


def prepare(
    version: str, family: str, model: Any, feature_set_id: str, spec: ProjectSpec
) -> LoadedModel:
    """A native model with what serving needs to feed it."""
    from ct_assets.ml.training import model_features

    features = tuple(model_features(family, model))
    names = spec.feature_names
    missing = [f for f in features if f not in names]
    if missing:
        raise FeatureSetMismatch(
            f"model version {version} reads {missing}, which the project's features do not hold"
        )
    categorical = tuple(f for f in features if f in spec.categorical_inputs)
    index = tuple(names.index(f) for f in features)
    return LoadedModel(version, family, feature_set_id, features, index, categorical, model)


def registry_loader(registry: Any, spec: ProjectSpec) -> Loader:
    """Load a version from the MLflow registry, refusing one of another feature set."""
    from ct_assets.ml.features import feature_set_id
    from ct_assets.ml.tags import Provenance

    expected = feature_set_id(spec)

    def load(version: str) -> LoadedModel:
        model_set = Provenance.of(registry.version_tags(version)).feature_set_id or ""
        check_feature_set(model_set, expected, f"model version {version}")
        family, model = registry.load(version)
        return prepare(version, family, model, model_set, spec)

    return load


@dataclass(frozen=True)
class ServingState:
    """What answers now; replaced whole on every change, never mutated."""

    champion: LoadedModel | None = None
    previous: LoadedModel | None = None
    challenger: LoadedModel | None = None
    # Why no champion answers (None when one does), and versions refused with why.
    why: str | None = "the registry has not been read yet"
    refused: tuple[tuple[str, str], ...] = ()


class ModelPool:
    """Loaded versions by number, and the current serving state, refreshed from aliases."""

    def __init__(self, registry: Any, loader: Loader, shadow: bool = True) -> None:
        self.registry = registry
        self.loader = loader
        self.shadow = shadow
        self.state = ServingState()
        self.cache: dict[str, LoadedModel] = {}
        self.refused: dict[str, str] = {}
        self.swaps = 0
        self.on_swap: Callable[[ServingState], None] = lambda state: None
        # Requests served since the champion took over: its baking period, counted here.
        # Answers since this process swapped a champion in; "long ago" until it does.
        self.since_swap = sys.maxsize
        self._seen: tuple[str | None, str | None] | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, version: str) -> LoadedModel:
        """A version, loaded once and kept; `FeatureSetMismatch` if it is refused."""
        found = self.cache.get(version)
        if found is not None:
            return found
        if version in self.refused:
            raise FeatureSetMismatch(self.refused[version])
        with self._load_lock:
            if version not in self.cache:
                try:
                    self.cache[version] = self.loader(version)
                except FeatureSetMismatch as exc:
                    self.refused[version] = str(exc)
                    raise
        return self.cache[version]

    def known_versions(self) -> list[str]:
        return [str(v["version"]) for v in self.registry.versions()]

    def _optional(self, version: str | None) -> LoadedModel | None:
        if version is None:
            return None
        try:
            return self.get(version)
        except Exception as exc:
            log.warning("version %s not loaded: %s", version, exc)
            return None

    def refresh(self) -> bool:
        """Read the aliases; load and swap in what moved. True when the state changed."""
        from resources.mlflow_registry import CHALLENGER

        champion = self.registry.champion_version()
        challenger = self.registry.alias_version(CHALLENGER) if self.shadow else None
        if (champion, challenger) == self._seen:
            return False
        current = self.state
        if champion is None:
            state = ServingState(why=f"no champion in {self.registry.registered_model} yet")
        else:
            try:
                loaded = self.get(champion)
            except FeatureSetMismatch as exc:
                why = f"champion v{champion} refused: {exc}"
                # A refused new champion leaves the one serving in place.
                state = ServingState(
                    current.champion,
                    current.previous,
                    current.challenger,
                    None if current.champion else why,
                    ((champion, str(exc)),),
                )
                self._publish(state, (champion, challenger))
                return True
            previous_version = self.registry.previous_champion()
            state = ServingState(
                loaded,
                self._optional(previous_version if previous_version != champion else None),
                self._optional(challenger if challenger != champion else None),
                None,
                tuple(self.refused.items()),
            )
        self._publish(state, (champion, challenger))
        return True

    def _publish(self, state: ServingState, seen: tuple[str | None, str | None]) -> None:
        old = self.state.champion
        moved = (old.version if old else None) != (
            state.champion.version if state.champion else None
        )
        # One assignment: requests read `self.state` once and keep what they read.
        self.state = state
        self._seen = seen
        if moved and old is not None:
            # Only a champion this process saw arrive bakes behind a canary: one already serving
            # when the process started (a restart) answers everything at once.
            self.since_swap = 0
            self.swaps += 1
        self.on_swap(state)

    def start(self, interval: float) -> None:
        """Poll the registry every `interval` seconds in a daemon thread (first read now)."""
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="champion-poller", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                if self.refresh():
                    # What is loaded lives as long as the process: out of the collector's
                    # sight, a full collection (over MLflow's and the models' objects) would
                    # otherwise stop every request for a few hundred milliseconds.
                    gc.freeze()
            except Exception as exc:
                # The registry may be briefly unreachable: keep serving what is loaded.
                log.warning("registry poll failed: %s", exc)
                if self.state.champion is None:
                    why = f"the registry cannot be read or the champion loaded: {exc}"
                    self.state = ServingState(why=why)
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
