"""Serving's row path in pure Python: one request row, as JSON gives it, parsed against the
declaration and turned into the model's row features (`ct_assets/serve/rows.py`, the
transforms' row implementations in `ct_assets/ml/transforms/`).

Prints figures; asserts nothing. Run: `uv run python bench/rows.py [--example shop|energy]
[--rows 2000] [--repeat 10]`. The best of five rounds over `rows` rows of the example's first
day, each row parsed and featurized `repeat` times: what one serving worker spends per row
before the model.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from ct_assets.project.load import load_project
from ct_assets.serve.rows import RowCodec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def source_of(example: str) -> Any:
    if example == "shop":
        from examples.shop.generator import DriftingSource

        return DriftingSource(date(2026, 3, 2))
    from examples.energy.generator import MeterSource

    return MeterSource(date(2026, 3, 2))


def best_seconds(work: Any, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="shop", choices=["shop", "energy"])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    spec = load_project(EXAMPLES / args.example, environ={}).spec
    codec = RowCodec(spec)
    day = source_of(args.example).day(0).head(args.rows)
    records = json.loads(day.to_json(orient="records", date_format="iso"))
    rows = [{k: v for k, v in r.items() if k in codec.columns} for r in records]
    parsed = [codec.parse(row, i) for i, row in enumerate(rows)]
    calls = len(rows) * args.repeat

    def parse_all() -> None:
        for _ in range(args.repeat):
            for i, row in enumerate(rows):
                codec.parse(row, i)

    def featurize_all() -> None:
        for _ in range(args.repeat):
            for row in parsed:
                codec.row_features(row)

    transforms = ", ".join(t.op for t in spec.features.transforms) or "none"
    print(f"{args.example}: {len(spec.row_features)} row features (transforms: {transforms})")
    for what, work in (("parse", parse_all), ("row features", featurize_all)):
        seconds = best_seconds(work)
        print(f"  {what:<13} {calls / seconds:>12,.0f} rows/s  {seconds / calls * 1e6:6.2f} µs/row")


if __name__ == "__main__":
    main()
