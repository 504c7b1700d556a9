"""Load a registered model in a fresh process, as serving would, and time it.

    printf 'MODEL_URI\nSAMPLE.parquet\n' | python -m ct_assets.ml.infra_probe TRACKING_URI

Like a serving process, it boots (imports MLflow) before it knows the model, then reads the
model URI and a sample's path from stdin, loads the model and predicts the sample. Prints one
JSON line: loaded, size_bytes, load_seconds, single-row latency p50/p95 (ms), and the error when
anything fails. Runs in its own process on purpose: a model that only works because the training
process still has some module imported or object cached must fail here.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def probe(tracking_uri: str) -> dict[str, Any]:
    import mlflow
    import mlflow.artifacts
    import mlflow.pyfunc

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    model_uri, sample_path = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    if not model_uri or not sample_path:
        raise ValueError("expected a model URI and a sample path on stdin")
    started = time.perf_counter()
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    size = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
    model = mlflow.pyfunc.load_model(str(local))
    loaded = time.perf_counter() - started
    sample = pd.read_parquet(sample_path)
    model.predict(sample)  # the whole sample once: it must predict at all
    for i in range(min(len(sample), 5)):  # first calls warm caches; serving is measured warm
        model.predict(sample.iloc[[i]])
    timings = []
    for i in range(min(len(sample), 50)):
        row = sample.iloc[[i]]
        mark = time.perf_counter()
        model.predict(row)
        timings.append((time.perf_counter() - mark) * 1000)
    return {
        "loaded": True,
        "size_bytes": size,
        "load_seconds": round(loaded, 3),
        "latency_ms_p50": round(float(np.percentile(timings, 50)), 3),
        "latency_ms_p95": round(float(np.percentile(timings, 95)), 3),
    }


def main() -> None:
    try:
        result = probe(sys.argv[1])
    except Exception as exc:  # anything at all means it cannot be served
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result = {"loaded": False, "error": last}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
