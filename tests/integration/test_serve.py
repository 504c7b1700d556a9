"""`ct serve` on real uvicorn, a real MLflow store, real models and the real online store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pandas as pd
import pytest
import uvicorn

from ct_assets.io.predictions import read
from ct_assets.ml.families import Inputs
from ct_assets.ml.features import feature_set_id
from ct_assets.ml.frames import FEATURE_SET
from ct_assets.ml.online import FeatureVector
from ct_assets.ml.training import train_family
from ct_assets.project.spec import ProjectSpec
from ct_assets.serve.app import create_app
from ct_assets.serve.models import LoadedModel, registry_loader
from ct_assets.serve.service import canary_share
from resources.mlflow_registry import CHALLENGER, FEATURE_SET_TAG, MlflowRegistry
from tests.conftest import Deployment, deploy

UP_TO_ONLINE = (
    'key:"raw_batches" or key:"validated_batches" or key:"features" or key:"online_features"'
)
UP_TO_FEATURES = 'key:"raw_batches" or key:"validated_batches" or key:"features"'
FAST = {"serving": {"reload_interval": "0.2s"}}
# Outside baking after the first request: the champion answers everything.
NO_BAKING = {"policy": {"rollback": {"baking": {"requests": 1}}}}
# The `ct` command in a fresh interpreter (what `ct up --serve` starts).
CT = "from ct_assets.cli import main; raise SystemExit(main())"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any, ready: bool = True) -> Iterator[httpx.Client]:
    """The app on real uvicorn in a thread, and a client of it; stopped (log flushed) after."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http="httptools")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        wait_for(lambda: server.started, "the server to start")
        if ready:
            wait_for(lambda: client.get("/ready").status_code == 200, "a champion")
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def register(
    registry: MlflowRegistry, features: pd.DataFrame, spec: ProjectSpec, family: str, **tags: str
) -> str:
    """Train one family on `features` and register it as a new version (the rows it was
    trained on are tagged: the registry hands back the version of an identical candidate)."""
    inputs = Inputs(spec.task.type, spec.feature_names, spec.categorical_inputs)
    trained = train_family(family, features, inputs)
    all_tags = {
        FEATURE_SET_TAG: str(features[FEATURE_SET].iloc[0]),
        "ct.training_rows": str(len(features)),
        **tags,
    }
    return registry.log_candidate(trained, features.head(20), {}, all_tags)["version"]


@dataclass
class Shop:
    deployment: Deployment
    rows: list[dict[str, Any]]
    versions: dict[str, str]

    @property
    def spec(self) -> ProjectSpec:
        return self.deployment.spec

    @property
    def registry(self) -> MlflowRegistry:
        return self.deployment.resource("mlflow")

    def app(self, changes: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        spec = self.deployment.project.with_spec({**FAST, **(changes or {})}).spec
        return create_app(
            spec,
            self.registry,
            self.deployment.resource("online_store"),
            self.deployment.data_dir,
            **kwargs,
        )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """Two days of features online; v1 (day 0) promoted, then v2 (days 0-1) promoted over it;
    v3, a linear model, is the challenger."""
    tmp = tmp_path_factory.mktemp("serve")
    (tmp / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp / "dagster")) as instance:
        project = deploy(tmp, instance, "shop", rows_per_day=800)
        for day in range(2):
            project.drop_day(day)
            assert project.materialize(project.partition(day), UP_TO_ONLINE).success
        folder = project.data_dir / "features"
        days = [pd.read_parquet(folder / f"{project.partition(d)}.parquet") for d in range(2)]
        registry, spec = project.resource("mlflow"), project.spec
        v1 = register(registry, days[0], spec, "lightgbm")
        v2 = register(registry, pd.concat(days, ignore_index=True), spec, "lightgbm")
        v3 = register(registry, pd.concat(days, ignore_index=True), spec, "sklearn_linear")
        registry.promote(v1, None, "first")
        registry.promote(v2, v1, "second")
        registry.set_alias(CHALLENGER, v3)
        rows = json.loads(project.source.day(2).head(40).to_json(orient="records"))
        yield Shop(project, rows, {"v1": v1, "v2": v2, "v3": v3})


def post(client: httpx.Client, path: str, body: Any, **headers: str) -> httpx.Response:
    headers = {"content-type": "application/json", **headers}
    return client.post(path, content=json.dumps(body), headers=headers)


def test_the_champion_answers_and_the_challenger_is_scored_in_shadow_only(shop: Shop) -> None:
    v2, v3 = shop.versions["v2"], shop.versions["v3"]
    app = shop.app(NO_BAKING)
    with served(app) as client:
        ready = client.get("/ready").json()
        assert ready["champion"] == v2 and ready["previous"] == shop.versions["v1"]
        assert ready["challenger"] == v3
        # A champion serving when the process starts has no canary: all four go to it.
        first = post(client, "/predict", shop.rows[0]).json()
        one = post(client, "/predict", shop.rows[0], **{"X-Request-Id": "one-row"})
        batch = post(client, "/predict", {"rows": shop.rows[:5]})
        listed = post(client, "/predict", shop.rows[:3])
        for response in (one, batch, listed):
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {
                "request_id",
                "model_version",
                "route",
                "feature_set_id",
                "predictions",
            }
            assert body["model_version"] == v2 and body["route"] == "champion"
            assert body["feature_set_id"] == feature_set_id(shop.spec)
            assert all(0.0 <= p <= 1.0 for p in body["predictions"])
        assert one.json()["request_id"] == "one-row" == one.headers["x-request-id"]
        assert [len(r.json()["predictions"]) for r in (one, batch, listed)] == [1, 5, 3]
        # The same row gives the same answer alone or in a batch.
        assert batch.json()["predictions"][0] == pytest.approx(one.json()["predictions"][0])
        # Observed, shadow-scored and logged on another thread after each answer.
        wait_for(lambda: app.state.after.done == 4, "the work after the last answer")
        metrics = client.get("/metrics").text
    scored = 9 + (first["model_version"] == v2)
    assert f'ct_prediction_value_count{{model_version="{v2}"}} {scored:.1f}' in metrics
    assert f'ct_requests_total{{model_version="{v2}",route="champion",status="200"}} 4.0' in metrics
    assert 'ct_request_latency_seconds_bucket{le="0.0005",route="champion"}' in metrics
    assert f'ct_loaded_models{{role="challenger",version="{v3}"}} 1.0' in metrics
    assert f'ct_shadow_predictions_total{{model_version="{v3}"}} 10.0' in metrics
    logged = read(shop.deployment.data_dir).to_pandas()
    mine = logged[logged["request_id"] == "one-row"].sort_values("role")
    assert list(mine["role"]) == ["answer", "shadow"]
    assert list(mine["model_version"]) == [v2, v3]
    answer = mine.iloc[0]
    assert answer["output"] == pytest.approx(one.json()["predictions"][0])
    assert answer["entity"] == shop.rows[0]["entity_id"] and answer["route"] == "champion"
    assert len(logged[logged["role"] == "shadow"]) == len(logged[logged["role"] == "answer"])


def test_malformed_requests_are_refused_with_a_4xx_naming_the_problem(shop: Shop) -> None:
    good = shop.rows[0]
    stranger = "never-seen-entity"
    # An entity whose stored vector was computed by other feature definitions.
    shop.deployment.resource("online_store").write(
        [
            FeatureVector(
                "old-definitions",
                "fs-000000000000",
                pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime(),
                "e-old",
                dict.fromkeys(shop.spec.feature_names, 1.0),
            )
        ]
    )
    without_items = {k: v for k, v in good.items() if k != "n_items"}
    cases: list[tuple[str, dict[str, Any], int, str, str]] = [
        ("wrong type", {"body": {**good, "amount": "a lot"}}, 422, "amount", "expected a number"),
        ("missing field", {"body": without_items}, 422, "n_items", "missing"),
        ("unknown field", {"body": {**good, "colour": "red"}}, 422, "colour", "unknown field"),
        ("NaN", {"raw": json.dumps({**good, "amount": float("nan")})}, 422, "amount", "finite"),
        ("inf", {"raw": json.dumps({**good, "amount": float("inf")})}, 422, "amount", "finite"),
        ("oversized", {"body": {"rows": [good] * 6}}, 413, "rows", "max_batch_rows"),
        ("bad JSON", {"raw": '{"amount": 3,'}, 400, "body", "not JSON"),
        ("content type", {"raw": json.dumps(good), "type": "text/csv"}, 415, "content-type", ""),
        ("unknown version", {"body": good, "path": "/models/99/predict"}, 404, "model_version", ""),
        ("empty batch", {"body": []}, 422, "rows", "empty batch"),
        ("empty rows", {"body": {"rows": []}}, 422, "rows", "empty batch"),
        ("unseen category", {"body": {**good, "channel": "fax"}}, 422, "channel", "unseen"),
        ("ge violated", {"body": {**good, "amount": -5.0}}, 422, "amount", "checks.ge"),
        ("ge on int", {"body": {**good, "n_items": 0}}, 422, "n_items", "checks.ge"),
        ("not a row", {"body": [good, 7]}, 422, "row", "expected an object"),
        ("bad time", {"body": {**good, "event_time": "soon"}}, 422, "event_time", "not a time"),
        ("null", {"body": {**good, "amount": None}}, 422, "amount", "not nullable"),
        (
            "feature set",
            {"body": {**good, "entity_id": "old-definitions"}},
            409,
            "feature_set_id",
            "fs-000000000000",
        ),
    ]
    with served(shop.app({"serving": {"max_batch_rows": 5}})) as client:
        for name, case, status, field, reason in cases:
            content = case.get("raw") or json.dumps(case.get("body"))
            response = client.post(
                case.get("path", "/predict"),
                content=content,
                headers={"content-type": case.get("type", "application/json")},
            )
            assert response.status_code == status, (name, response.text)
            detail = response.json()["detail"]
            assert any(d["field"] == field and reason in d["reason"] for d in detail), (
                name,
                detail,
            )
        unknown = post(client, "/models/99/predict", good).json()["detail"][0]["reason"]
        for version in shop.versions.values():
            assert version in unknown
        # The one at fault is named by row too; a stranger's row is answered.
        mixed = post(client, "/predict", [good, {**good, "amount": "x"}]).json()["detail"]
        assert mixed == [{"row": 1, "field": "amount", "reason": mixed[0]["reason"]}]
        assert post(client, "/predict", {**good, "entity_id": stranger}).status_code == 200
        assert post(client, "/predict", {**good, "label": 1}).status_code == 200
        metrics = client.get("/metrics").text
    assert 'ct_request_errors_total{status="422"}' in metrics
    assert 'ct_request_errors_total{status="500"}' not in metrics


def test_versions_are_routed_by_header_and_by_path(shop: Shop) -> None:
    v1, v3 = shop.versions["v1"], shop.versions["v3"]
    with served(shop.app(NO_BAKING)) as client:
        by_header = post(client, "/predict", shop.rows[:2], **{"X-Model-Version": v1})
        by_path = post(client, f"/models/{v3}/predict", shop.rows[:2])
        champion = post(client, "/models/{}/predict".format(shop.versions["v2"]), shop.rows[:2])
    assert by_header.json()["model_version"] == v1 and by_header.json()["route"] == "pinned"
    assert by_path.json()["model_version"] == v3 and by_path.json()["route"] == "pinned"
    # Three models, three answers for the same rows.
    answers = {tuple(r.json()["predictions"]) for r in (by_header, by_path, champion)}
    assert len(answers) == 3


def test_a_new_champion_answers_its_canary_share_during_baking(shop: Shop) -> None:
    v1, v2 = shop.versions["v1"], shop.versions["v2"]
    ids = [f"canary-{i}" for i in range(200)]
    shop.registry.promote(v1, v2, "v1 serves when the process starts")
    with served(shop.app({"serving": {"canary_fraction": 0.25}})) as client:
        # A champion already serving at start answers everything; one that arrives bakes.
        first = post(client, "/predict", shop.rows[0]).json()
        assert (first["route"], first["model_version"]) == ("champion", v1)
        shop.registry.promote(v2, v1, "v2 arrives while serving")
        wait_for(lambda: client.get("/ready").json()["champion"] == v2, f"v{v2}")
        routes = {
            rid: post(client, "/predict", shop.rows[0], **{"X-Request-Id": rid}).json()
            for rid in ids
        }
    counted = Counter((r["route"], r["model_version"]) for r in routes.values())
    assert set(counted) == {("canary", v2), ("previous", v1)}
    expected = sum(canary_share(rid) < 0.25 for rid in ids)
    assert counted[("canary", v2)] == expected
    assert 0.15 <= expected / len(ids) <= 0.35


class Broken:
    def predict(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the champion's model file is corrupt")


def test_the_previous_champion_answers_when_the_champion_raises(shop: Shop) -> None:
    v1, v2 = shop.versions["v1"], shop.versions["v2"]
    real = registry_loader(shop.registry, shop.spec)

    def loader(version: str) -> LoadedModel:
        loaded = real(version)
        return replace(loaded, model=Broken()) if version == v2 else loaded

    with served(shop.app(NO_BAKING, loader=loader)) as client:
        # The one baking request: the canary (v2, failing: a fallback too) or the previous.
        warm = post(client, "/predict", shop.rows[0]).json()
        answers = [post(client, "/predict", shop.rows[:2]) for _ in range(3)]
        metrics = client.get("/metrics").text
    for response in answers:
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == v1 and response.json()["route"] == "fallback"
    failed = 3 + (warm["route"] == "fallback")
    assert f'ct_fallbacks_total{{reason="error",version="{v2}"}} {failed:.1f}' in metrics


def test_the_open_inference_protocol_v2(shop: Shop) -> None:
    name, v1 = shop.registry.registered_model, shop.versions["v1"]
    rows = shop.rows[:3]
    with served(shop.app(NO_BAKING)) as client:
        assert client.get("/v2").json()["name"] == "ct"
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": True}
        meta = client.get(f"/v2/models/{name}").json()
        assert meta["name"] == name and meta["platform"] == "lightgbm"
        assert set(shop.versions.values()) <= set(meta["versions"])
        inputs = {i["name"]: i for i in meta["inputs"]}
        assert inputs["amount"]["datatype"] == "FP64" and inputs["channel"]["datatype"] == "BYTES"
        assert inputs["n_items"]["datatype"] == "INT64" and "label" not in inputs
        assert client.get(f"/v2/models/{name}/ready").json()["ready"] is True
        post(client, "/predict", shop.rows[0])  # the one baking request
        # As the KServe v2 spec shows a request: one tensor per input.
        tensors = [
            {
                "name": column,
                "datatype": inputs[column]["datatype"],
                "shape": [len(rows), 1] if column == "amount" else [len(rows)],
                "data": [r[column] for r in rows],
            }
            for column in inputs
        ]
        infer = post(client, f"/v2/models/{name}/infer", {"id": "oip-1", "inputs": tensors})
        pinned = post(client, f"/v2/models/{name}/versions/{v1}/infer", {"inputs": tensors})
        plain = post(client, "/predict", rows, **{"X-Model-Version": v1})
        bad = post(client, f"/v2/models/{name}/infer", {"inputs": [{**tensors[0], "shape": [9]}]})
        wrong = post(client, "/v2/models/nobody/infer", {"inputs": tensors})
    assert infer.status_code == 200, infer.text
    body = infer.json()
    assert body["id"] == "oip-1" and body["model_name"] == name
    assert body["model_version"] == shop.versions["v2"]
    (output,) = body["outputs"]
    assert output["name"] == "prediction" and output["datatype"] == "FP64"
    assert output["shape"] == [3] and len(output["data"]) == 3
    assert pinned.json()["outputs"][0]["data"] == pytest.approx(plain.json()["predictions"])
    assert bad.status_code == 422 and "shape" in bad.json()["error"]
    assert wrong.status_code == 404
    logged = read(shop.deployment.data_dir).to_pandas()
    assert (logged["request_id"] == "oip-1").sum() == 2 * 3  # answers and shadow scores
    assert set(logged[logged["request_id"] == "oip-1"]["role"]) == {"answer", "shadow"}


def test_the_champion_is_swapped_under_load_without_a_failed_request(shop: Shop) -> None:
    v1, v2 = shop.versions["v1"], shop.versions["v2"]
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def hammer(client: httpx.Client) -> None:
        while not stop.is_set():
            r = post(client, "/predict", shop.rows[:2])
            seen.append((r.status_code, r.json().get("model_version")))

    app = shop.app(NO_BAKING)
    with served(app) as client:
        threads = [threading.Thread(target=hammer, args=(client,)) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for to, old in ((v1, v2), (v2, v1), (v1, v2), (v2, v1)):
                shop.registry.promote(to, old, "swap under load")
                wait_for(lambda to=to: client.get("/ready").json()["champion"] == to, f"v{to}")
                before = len(seen)
                wait_for(lambda before=before: len(seen) > before + 5, "requests after the swap")
        finally:
            stop.set()
            for t in threads:
                t.join()
        metrics = client.get("/metrics").text
    statuses = Counter(status for status, _ in seen)
    assert statuses == {200: len(seen)}, statuses
    assert {version for _, version in seen} == {v1, v2}
    assert "ct_model_swaps_total 4.0" in metrics
    assert shop.registry.champion_version() == v2


def test_ready_is_503_until_a_champion_of_the_project_feature_set_exists(shop: Shop) -> None:
    base = shop.registry
    empty = MlflowRegistry(
        tracking_uri=base.tracking_uri,
        artifact_root=base.artifact_root,
        experiment=base.experiment,
        registered_model="not-yet",
    )
    spec = shop.deployment.project.with_spec(FAST).spec
    app = create_app(spec, empty, shop.deployment.resource("online_store"), None)
    with served(app, ready=False) as client:
        assert client.get("/health").status_code == 200
        wait_for(lambda: "no champion" in (client.get("/ready").json()["why"] or ""), "a poll")
        assert client.get("/ready").status_code == 503
        assert client.get("/v2/health/ready").status_code == 503
        refused = post(client, "/predict", shop.rows[0])
        assert refused.status_code == 503 and "no champion" in refused.text
        # A champion trained on other feature definitions is refused, not loaded.
        features = pd.read_parquet(
            shop.deployment.data_dir / "features" / f"{shop.deployment.partition(0)}.parquet"
        )
        other = register(empty, features.assign(**{FEATURE_SET: "fs-other"}), spec, "lightgbm")
        empty.promote(other, None, "trained elsewhere")
        wait_for(lambda: client.get("/ready").json()["why"] != "no champion", "a poll")
        wait_for(lambda: "refused" in (client.get("/ready").json()["why"] or ""), "a refusal")
        ready = client.get("/ready")
        assert ready.status_code == 503 and "fs-other" in ready.json()["why"]


def test_ct_serve_answers_from_its_own_process_and_stops_on_ctrl_c(shop: Shop) -> None:
    port = free_port()
    # Nothing from the caller's environment may point ct at another project or store.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CT_")}
    command = ["serve", "--project", str(shop.deployment.root), "--port", str(port), "--no-log"]
    process = subprocess.Popen(
        [sys.executable, "-c", CT, *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def ready() -> bool:
        assert process.poll() is None, process.communicate()[0]
        try:
            return client.get("/ready").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, "ct serve", timeout=120)
        answer = post(client, "/predict", shop.rows[:2])
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] in (shop.versions["v1"], shop.versions["v2"])
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert f"127.0.0.1:{port}/predict" in output


def test_the_energy_example_without_an_entity_is_served(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    energy = deploy(tmp_path, dagster_instance, "energy", rows_per_day=600)
    energy.drop_day(0)
    assert energy.materialize(energy.partition(0), UP_TO_FEATURES).success
    features = pd.read_parquet(energy.data_dir / "features" / f"{energy.partition(0)}.parquet")
    registry = energy.resource("mlflow")
    version = register(registry, features, energy.spec, "lightgbm")
    registry.promote(version, None, "first")
    rows = json.loads(energy.source.day(1).head(4).to_json(orient="records"))
    spec = energy.project.with_spec(FAST).spec
    with served(create_app(spec, registry, None, energy.data_dir)) as client:
        answer = post(client, "/predict", rows)
        unseen = post(client, "/predict", {**rows[0], "weather": "hail"})
        hot = post(client, "/predict", {**rows[0], "temperature_c": 75.0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["route"] == "champion" and len(answer.json()["predictions"]) == 4
    # `unseen: unknown`: a new kind of weather is scored as the unknown code, as offline.
    assert unseen.status_code == 200
    assert hot.status_code == 422 and hot.json()["detail"][0]["field"] == "temperature_c"
    logged = read(energy.data_dir).to_pandas()
    assert len(logged) == 5 and logged["entity"].isna().all()
