"""The serving app: `/predict`, version routing, health, metrics, Open Inference Protocol v2.

Bodies are read and parsed here (`json.loads` on the raw bytes; no pydantic model per request:
the per-column validators of `serve.rows` are compiled once). Every refusal is a 4xx whose body
is `{"detail": [{"row", "field", "reason"}]}`; nothing a client sends makes a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ct_assets.ingest.files import Location
from ct_assets.project.spec import ProjectSpec
from ct_assets.serve.metrics import serving_metrics
from ct_assets.serve.models import Loader, ModelPool, ServingState, registry_loader
from ct_assets.serve.oip import OipCodec
from ct_assets.serve.rows import Invalid, Problem
from ct_assets.serve.service import AfterWork, Answer, Refusal, Scorer, prediction_log, refuse

log = logging.getLogger("ct.serve")
JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, media_type=JSON)


def _problems(status: int, problems: list[Problem], oip: bool = False) -> Response:
    body: dict[str, Any] = {"detail": [p.as_dict() for p in problems]}
    if oip:
        # KServe's v2 error shape is {"error": "..."}; the detail stays beside it.
        body["error"] = "; ".join(f"{p.field}: {p.reason}" for p in problems)
    return _json(body, status)


async def read_json(request: Request) -> Any:
    """The body as JSON, or a `Refusal` saying why not (415, 400)."""
    kind = request.headers.get("content-type", "")
    if kind.split(";")[0].strip().lower() != JSON:
        raise refuse(415, "content-type", f"expected {JSON}, got {kind or 'none'}")
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer too long
        raise refuse(400, "body", f"not JSON: {exc}") from None


def create_app(
    spec: ProjectSpec,
    registry: Any,
    online_store: Any | None = None,
    data_dir: Location | None = None,
    loader: Loader | None = None,
    poll: bool = True,
) -> FastAPI:
    """The serving app of a project; `data_dir` None logs no predictions (`--no-log`).

    `loader` replaces how a version is loaded (tests inject a failing model through it).
    """
    metrics = serving_metrics(spec.task.type)
    pool = ModelPool(registry, loader or registry_loader(registry, spec), spec.serving.shadow)
    scorer = Scorer(spec, pool, metrics, online_store, None)
    oip = OipCodec(spec, registry.registered_model)

    counted = [0]

    def on_swap(state: ServingState) -> None:
        metrics.swaps.inc(pool.swaps - counted[0])
        counted[0] = pool.swaps
        metrics.loaded.clear()
        for role in ("champion", "previous", "challenger"):
            model = getattr(state, role)
            if model is not None:
                metrics.loaded.labels(role, model.version).set(1)

    pool.on_swap = on_swap

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scorer.log = prediction_log(data_dir)
        app.state.after = after = AfterWork(scorer)
        if poll:
            pool.start(scorer.reload_seconds)
        try:
            yield
        finally:
            pool.stop()
            after.close()
            if scorer.log is not None:
                scorer.log.close()

    app = FastAPI(title=f"ct serve: {spec.name}", lifespan=lifespan)
    app.state.pool, app.state.scorer, app.state.metrics = pool, scorer, metrics

    def answered(answer: Answer, started: float, body: dict[str, Any]) -> Response:
        metrics.requests.labels(answer.route, "200", answer.model.version).inc()
        metrics.latency.labels(answer.route).observe(perf_counter() - started)
        response = _json(body)
        response.headers["x-request-id"] = answer.request_id
        # Histogram, shadow score and log entry: on another thread, after this answer.
        app.state.after.put(answer)
        return response

    def refused(exc: Refusal | Invalid, oip_body: bool = False) -> Response:
        status = exc.status if isinstance(exc, Refusal) else 422
        metrics.requests.labels("none", str(status), "none").inc()
        metrics.errors.labels(str(status)).inc()
        return _problems(status, exc.problems, oip_body)

    async def load_off_loop(version: str | None) -> None:
        """A pinned version not yet loaded is loaded on a thread: other requests go on."""
        if version is not None and version not in pool.cache:
            # Any failure is said again, as a 404 or 409, when the request asks for it.
            with contextlib.suppress(Exception):
                await asyncio.to_thread(pool.get, version)

    async def predict(request: Request, version: str | None) -> Response:
        started = perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        try:
            rows = scorer.rows_of(await read_json(request))
            pinned = version or request.headers.get("x-model-version")
            await load_off_loop(pinned)
            answer = scorer.answer(rows, request_id, pinned)
        except (Refusal, Invalid) as exc:
            return refused(exc)
        return answered(answer, started, answer.body())

    @app.post("/predict")
    async def predict_champion(request: Request) -> Response:
        return await predict(request, None)

    @app.post("/models/{version}/predict")
    async def predict_version(request: Request, version: str) -> Response:
        return await predict(request, version)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "up"}

    def readiness() -> tuple[bool, dict[str, Any]]:
        state = pool.state
        shown = {
            role: getattr(state, role).version if getattr(state, role) else None
            for role in ("champion", "previous", "challenger")
        }
        body = {**shown, "refused": dict(state.refused), "swaps": pool.swaps}
        if state.champion is None:
            return False, {"ready": False, "why": state.why, **body}
        return True, {"ready": True, **body}

    @app.get("/ready")
    async def ready() -> Response:
        ok, body = readiness()
        return _json(body, 200 if ok else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # -- Open Inference Protocol v2 ------------------------------------------------------------

    @app.get("/v2")
    async def v2() -> dict[str, Any]:
        return oip.server_metadata()

    @app.get("/v2/health/live")
    async def v2_live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def v2_ready() -> Response:
        ok, _ = readiness()
        return _json({"ready": ok}, 200 if ok else 503)

    def named(name: str) -> None:
        if name != oip.name:
            raise refuse(404, "model_name", f"no model {name!r}; this server serves {oip.name!r}")

    @app.get("/v2/models/{name}")
    async def v2_model(name: str) -> Response:
        try:
            named(name)
        except Refusal as exc:
            return _problems(exc.status, exc.problems, oip=True)
        return _json(oip.model_metadata(pool.state, pool.known_versions()))

    @app.get("/v2/models/{name}/ready")
    async def v2_model_ready(name: str) -> Response:
        try:
            named(name)
        except Refusal as exc:
            return _problems(exc.status, exc.problems, oip=True)
        ok, _ = readiness()
        return _json({"name": name, "ready": ok}, 200 if ok else 503)

    async def infer(request: Request, name: str, version: str | None) -> Response:
        started = perf_counter()
        try:
            named(name)
            body = await read_json(request)
            request_id = oip.request_id(body) or request.headers.get("x-request-id")
            request_id = request_id or uuid.uuid4().hex
            rows = oip.rows(body)
            scorer.check_size(len(rows))
            pinned = version or request.headers.get("x-model-version")
            await load_off_loop(pinned)
            answer = scorer.answer(rows, request_id, pinned)
        except (Refusal, Invalid) as exc:
            return refused(exc, oip_body=True)
        return answered(answer, started, oip.response(answer))

    @app.post("/v2/models/{name}/infer")
    async def v2_infer(request: Request, name: str) -> Response:
        return await infer(request, name, None)

    @app.post("/v2/models/{name}/versions/{version}/infer")
    async def v2_infer_version(request: Request, name: str, version: str) -> Response:
        return await infer(request, name, version)

    return app


def run(app: FastAPI, host: str, port: int) -> None:
    """One uvicorn worker (more lose TCP_NODELAY), httptools and uvloop, no access log."""
    import uvicorn

    # The log and shadow thread shares the GIL with the event loop: by default a thread may keep
    # it 5 ms while the loop waits, which is the whole p99 budget. Half a millisecond bounds that.
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=1,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="info",
    )
