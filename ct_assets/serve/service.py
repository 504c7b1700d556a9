"""Answering a request: choose the model (route), build feature rows, score, fall back, log.

No web framework here: the app (`serve.app`) parses the HTTP request and renders what this
returns, so the same answer serves `/predict` and the Open Inference Protocol endpoints.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import numpy as np

from ct_assets.ingest.files import Location
from ct_assets.io.predictions import (
    ANSWER,
    CANARY_ROUTE,
    CHAMPION_ROUTE,
    FALLBACK_ROUTE,
    PINNED_ROUTE,
    PREVIOUS_ROUTE,
    SHADOW,
    Prediction,
    PredictionLog,
    inputs_hash,
    partition_key_at,
)
from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.features import feature_set_id
from ct_assets.project.spec import ProjectSpec, parse_duration
from ct_assets.serve.metrics import ServingMetrics
from ct_assets.serve.models import LoadedModel, ModelPool, ServingState
from ct_assets.serve.rows import Problem, Row, RowCodec, first_event_windows

log = logging.getLogger("ct.serve")


class Refusal(Exception):
    """A request serving does not answer: an HTTP status and the problems, field by field."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        super().__init__(f"{status}: {problems}")
        self.status = status
        self.problems = problems


def refuse(status: int, field: str, reason: str, row: int | None = None) -> Refusal:
    return Refusal(status, [Problem(row, field, reason)])


@dataclass
class Answer:
    request_id: str
    model: LoadedModel
    route: str
    predictions: list[float]
    # For the log and the shadow score, done after the response is built.
    rows: list[Row]
    matrix: np.ndarray
    challenger: LoadedModel | None

    def body(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "model_version": self.model.version,
            "route": self.route,
            "feature_set_id": self.model.feature_set_id,
            "predictions": self.predictions,
        }


def canary_share(request_id: str) -> float:
    """Where a request id falls in [0, 1): the same id always takes the same route."""
    return zlib.crc32(request_id.encode()) / 2**32


class Scorer:
    """Everything one request needs, built once at startup from the declaration."""

    def __init__(
        self,
        spec: ProjectSpec,
        pool: ModelPool,
        metrics: ServingMetrics,
        online_store: Any | None = None,
        log: PredictionLog | None = None,
    ) -> None:
        self.spec = spec
        self.pool = pool
        self.metrics = metrics
        self.store = online_store if spec.dataset.entity else None
        self.log = log
        self.codec = RowCodec(spec)
        self.feature_set_id = feature_set_id(spec)
        self.first_event = first_event_windows(spec)
        self.max_rows = spec.serving.max_batch_rows
        self.budget = spec.serving.latency_budget_ms / 1000
        self.canary_fraction = spec.serving.canary_fraction
        self.baking_requests = spec.policy.rollback.baking.requests
        self.granularity = spec.partitions.granularity
        self.reload_seconds = parse_duration(spec.serving.reload_interval).total_seconds()

    # -- routing -----------------------------------------------------------------------------

    def baking(self, state: ServingState) -> bool:
        return state.previous is not None and self.pool.since_swap < self.baking_requests

    def route(self, state: ServingState, request_id: str, pinned: str | None) -> tuple[Any, str]:
        if pinned is not None:
            return self.pinned(pinned), PINNED_ROUTE
        if state.champion is None:
            raise refuse(503, "model", f"no champion is loaded: {state.why}")
        if self.baking(state):
            assert state.previous is not None
            if canary_share(request_id) < self.canary_fraction:
                return state.champion, CANARY_ROUTE
            return state.previous, PREVIOUS_ROUTE
        return state.champion, CHAMPION_ROUTE

    def pinned(self, version: str) -> LoadedModel:
        try:
            return self.pool.get(version)
        except FeatureSetMismatch as exc:
            raise refuse(409, "model_version", str(exc)) from None
        except Exception as exc:
            known = self.pool.known_versions()
            if version in known:
                raise refuse(503, "model_version", f"v{version} cannot be loaded: {exc}") from None
            raise refuse(
                404,
                "model_version",
                f"no version {version!r} of {self.pool.registry.registered_model}; "
                f"known: {', '.join(known) or 'none'}",
            ) from None

    # -- features ----------------------------------------------------------------------------

    def windows_of(self, row: Row, index: int, model: LoadedModel) -> dict[str, Any] | None:
        if not self.codec.window_names:
            return None
        try:
            vector = self.store.get(row.entity) if self.store is not None and row.entity else None
        except Exception as exc:
            # The store away is the server's problem, not the request's: retry later.
            raise refuse(503, "online_store", f"the online store cannot be read: {exc}") from None
        if vector is None:
            # Never seen: what the offline features give an entity's first event.
            return self.first_event
        if vector.feature_set_id != model.feature_set_id:
            raise refuse(
                409,
                "feature_set_id",
                f"the online features of entity {row.entity!r} are of feature set "
                f"{vector.feature_set_id}; model v{model.version} reads feature set "
                f"{model.feature_set_id}: re-materialize online_features",
                index,
            )
        return vector.features

    def matrix(self, rows: list[Row], model: LoadedModel) -> np.ndarray:
        vectors = [
            self.codec.vector(row, self.windows_of(row, i, model)) for i, row in enumerate(rows)
        ]
        return np.array(vectors, dtype=float)

    # -- answering ---------------------------------------------------------------------------

    def rows_of(self, body: Any) -> list[Any]:
        """The rows of a /predict body: one object, a list, or {"rows": [...]}."""
        if isinstance(body, dict) and set(body) == {"rows"}:
            body = body["rows"]
            if not isinstance(body, list):
                raise refuse(422, "rows", "expected a list of row objects")
        elif isinstance(body, dict):
            body = [body]
        elif not isinstance(body, list):
            raise refuse(422, "body", 'expected a row object, a list of rows, or {"rows": [...]}')
        self.check_size(len(body))
        return body

    def check_size(self, n: int) -> None:
        if n == 0:
            raise refuse(422, "rows", "empty batch: no rows to score")
        if n > self.max_rows:
            raise refuse(
                413,
                "rows",
                f"{n} rows is more than serving.max_batch_rows ({self.max_rows}): split the batch",
            )

    def answer(self, raw_rows: list[Any], request_id: str, pinned: str | None) -> Answer:
        state = self.pool.state  # read once: a swap during this request changes nothing here
        rows = self.codec.parse_all(raw_rows)
        model, route = self.route(state, request_id, pinned)
        matrix = self.matrix(rows, model)
        predictions, model, route = self.score(state, model, route, matrix)
        self.pool.since_swap += 1
        return Answer(request_id, model, route, predictions, rows, matrix, state.challenger)

    def score(
        self, state: ServingState, model: LoadedModel, route: str, matrix: np.ndarray
    ) -> tuple[list[float], LoadedModel, str]:
        reason = None
        try:
            started = perf_counter()
            values = model.predict(matrix)
            if perf_counter() - started > self.budget:
                reason = "latency"
        except Exception:
            reason = "error"
        if reason is None:
            return values.tolist(), model, route
        stand_in = state.previous if state.previous is not model else state.champion
        if route == PINNED_ROUTE or stand_in is None or stand_in is model:
            if reason == "latency":
                return values.tolist(), model, route
            raise refuse(503, "model", f"model v{model.version} failed and none stands in")
        self.metrics.fallbacks.labels(model.version, reason).inc()
        try:
            return stand_in.predict(matrix).tolist(), stand_in, FALLBACK_ROUTE
        except Exception as exc:
            if reason == "latency":
                return values.tolist(), model, route
            raise refuse(
                503, "model", f"model v{model.version} failed and v{stand_in.version} too: {exc}"
            ) from None

    # -- after the response ------------------------------------------------------------------

    def after(self, answers: list[Answer]) -> None:
        """Observe, shadow-score and log answers already returned (on `AfterWork`'s thread)."""
        shadows: dict[int, list[float]] = {}
        by_challenger: dict[str, list[int]] = {}
        for i, answer in enumerate(answers):
            histogram = self.metrics.predictions.labels(answer.model.version)
            for value in answer.predictions:
                histogram.observe(value)
            challenger = answer.challenger
            if challenger is not None and challenger is not answer.model:
                by_challenger.setdefault(challenger.version, []).append(i)
        for version, members in by_challenger.items():
            # One call for the batch: a scikit-learn pipeline costs milliseconds a call.
            challenger = answers[members[0]].challenger
            assert challenger is not None
            try:
                scores = challenger.predict(np.vstack([answers[i].matrix for i in members]))
            except Exception as exc:
                # A shadow score never fails an answer; it is only missing from the log.
                log.warning("shadow v%s failed: %s", version, exc)
                continue
            self.metrics.shadow.labels(version).inc(len(scores))
            start = 0
            for i in members:
                n = len(answers[i].predictions)
                shadows[i] = scores[start : start + n].tolist()
                start += n
        if self.log is not None:
            for i, answer in enumerate(answers):
                self.log.append(self.records(answer, shadows.get(i)))

    def records(self, answer: Answer, shadow: list[float] | None) -> list[Prediction]:
        now = datetime.now(UTC)
        out = []
        for i, row in enumerate(answer.rows):
            hashed = inputs_hash(row.raw)
            # Filed under the partition of the event it scored (now, when the row had no time):
            # its delayed label, its data and its prediction then meet in one partition.
            partition = partition_key_at(row.time, self.granularity)
            common = (answer.request_id, i, now, partition)
            out.append(
                Prediction(
                    *common,
                    answer.model.version,
                    ANSWER,
                    answer.route,
                    answer.model.feature_set_id,
                    hashed,
                    row.entity,
                    answer.predictions[i],
                )
            )
            if shadow is not None and answer.challenger is not None:
                out.append(
                    Prediction(
                        *common,
                        answer.challenger.version,
                        SHADOW,
                        answer.route,
                        answer.challenger.feature_set_id,
                        hashed,
                        row.entity,
                        shadow[i],
                    )
                )
        return out


def prediction_log(data_dir: Location | None) -> PredictionLog | None:
    return None if data_dir is None else PredictionLog(data_dir)


class AfterWork:
    """What follows an answer, off the event loop: one thread takes the answers queued since
    its last pass and hands them to `Scorer.after` together, so shadow scores are batched."""

    def __init__(self, scorer: Scorer, max_batch: int = 512, pause: float = 0.05) -> None:
        self.scorer = scorer
        self.max_batch = max_batch
        # Woken once per pause rather than per answer: each wake-up takes the GIL from the loop.
        self.pause = pause
        self._queue: queue.SimpleQueue[Answer | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="after-answer", daemon=True)
        self.done = 0
        self._thread.start()

    def put(self, answer: Answer) -> None:
        self._queue.put(answer)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch: list[Answer] = [] if first is None else [first]
            closing = first is None
            if not closing:
                time.sleep(self.pause)
            while not closing and len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                else:
                    batch.append(item)
            if batch:
                try:
                    self.scorer.after(batch)
                except Exception as exc:
                    log.warning("after-answer work failed for %d answers: %s", len(batch), exc)
                self.done += len(batch)
            if closing:
                return

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued (then the log can be closed)."""
        self._queue.put(None)
        self._thread.join(timeout)
