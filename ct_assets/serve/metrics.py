"""Prometheus metrics of one serving app, in a registry of its own (two apps, two registries)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Sub-millisecond buckets: a LightGBM row answers in well under a millisecond.
LATENCY_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0)
PROBABILITY_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
# Regression outputs are in the label's units: a wide log-spaced range.
VALUE_BUCKETS = (-1e3, -1e2, -10.0, -1.0, 0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0,
                 500.0, 1e3, 1e4, 1e5)  # fmt: skip


@dataclass
class ServingMetrics:
    registry: CollectorRegistry
    requests: Counter
    errors: Counter
    latency: Histogram
    predictions: Histogram
    fallbacks: Counter
    swaps: Counter
    loaded: Gauge
    shadow: Counter


def serving_metrics(task: str) -> ServingMetrics:
    registry = CollectorRegistry()
    buckets = PROBABILITY_BUCKETS if task == "binary" else VALUE_BUCKETS
    return ServingMetrics(
        registry=registry,
        requests=Counter(
            "ct_requests",
            "Prediction requests by route, HTTP status and answering model version",
            ["route", "status", "model_version"],
            registry=registry,
        ),
        errors=Counter(
            "ct_request_errors",
            "Refused or failed prediction requests by HTTP status",
            ["status"],
            registry=registry,
        ),
        latency=Histogram(
            "ct_request_latency_seconds",
            "Time to answer a prediction request, from body read to response built",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        predictions=Histogram(
            "ct_prediction_value",
            "Answered prediction values by model version",
            ["model_version"],
            buckets=buckets,
            registry=registry,
        ),
        fallbacks=Counter(
            "ct_fallbacks",
            "Requests the previous champion answered for a failing or slow one",
            ["version", "reason"],
            registry=registry,
        ),
        swaps=Counter("ct_model_swaps", "Champion hot swaps in this process", registry=registry),
        loaded=Gauge(
            "ct_loaded_models",
            "Model versions loaded, by role (champion, previous, challenger)",
            ["role", "version"],
            registry=registry,
        ),
        shadow=Counter(
            "ct_shadow_predictions",
            "Rows the challenger scored in shadow",
            ["model_version"],
            registry=registry,
        ),
    )
