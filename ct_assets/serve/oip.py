"""The Open Inference Protocol v2 (KServe, Seldon MLServer, Triton): metadata and tensors.

A v2 request holds one tensor per input column (`{"name", "datatype", "shape", "data"}`, shape
`[n]` or `[n, 1]`); they become the same row objects `/predict` takes, so validation, routing and
logging are one code path. Strings travel as BYTES.
"""

from __future__ import annotations

from typing import Any

from ct_assets.project.spec import Column, ProjectSpec
from ct_assets.serve.models import ServingState
from ct_assets.serve.rows import Problem, input_columns
from ct_assets.serve.service import Answer, Refusal, refuse

PROTOCOL = "v2"
OUTPUT = "prediction"
DATATYPES = frozenset(
    {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
    | {"FP16", "FP32", "FP64", "BYTES"}
)


def datatype_of(column: Column) -> str:
    """The v2 datatype a declared column travels as."""
    if column.type == "datetime":
        return "INT64" if (column.format or "").startswith("epoch_") else "BYTES"
    return {"int": "INT64", "float": "FP64", "bool": "BOOL"}.get(column.type, "BYTES")


class OipCodec:
    def __init__(self, spec: ProjectSpec, name: str) -> None:
        self.spec = spec
        self.name = name
        self.columns = input_columns(spec)

    def server_metadata(self) -> dict[str, Any]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            own = version("ct")
        except PackageNotFoundError:
            own = "dev"
        return {"name": "ct", "version": own, "extensions": []}

    def model_metadata(self, state: ServingState, versions: list[str]) -> dict[str, Any]:
        champion = state.champion
        return {
            "name": self.name,
            "versions": versions,
            "platform": champion.platform if champion else "unknown",
            "inputs": [
                {
                    "name": c,
                    "datatype": datatype_of(self.spec.column(c)),
                    "shape": [-1],
                    "optional": c == self.spec.dataset.time or self.spec.column(c).nullable,
                }
                for c in self.columns
            ],
            "outputs": [{"name": OUTPUT, "datatype": "FP64", "shape": [-1]}],
        }

    def request_id(self, body: Any) -> str | None:
        found = body.get("id") if isinstance(body, dict) else None
        return str(found) if found not in (None, "") else None

    def rows(self, body: Any) -> list[dict[str, Any]]:
        """The request's tensors as row objects; a `Refusal` names the tensor at fault."""
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise refuse(422, "inputs", 'expected {"inputs": [{name, datatype, shape, data}]}')
        columns: dict[str, list[Any]] = {}
        problems: list[Problem] = []
        for i, tensor in enumerate(body["inputs"]):
            try:
                name, data = self._tensor(tensor, i)
            except Refusal as exc:
                problems.extend(exc.problems)
                continue
            columns[name] = data
        if problems:
            raise Refusal(422, problems)
        if not columns:
            raise refuse(422, "inputs", "no input tensor: no rows to score")
        lengths = {name: len(data) for name, data in columns.items()}
        if len(set(lengths.values())) > 1:
            raise refuse(422, "inputs", f"tensors of different lengths: {lengths}")
        n = next(iter(lengths.values()))
        return [{name: data[r] for name, data in columns.items()} for r in range(n)]

    def _tensor(self, tensor: Any, i: int) -> tuple[str, list[Any]]:
        where = f"inputs[{i}]"
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise refuse(422, where, "expected a tensor {name, datatype, shape, data}")
        name = tensor["name"]
        datatype = tensor.get("datatype")
        shape: Any = tensor.get("shape")
        data: Any = tensor.get("data")
        if datatype not in DATATYPES:
            raise refuse(422, name, f"datatype {datatype!r} is not a v2 datatype")
        shape_ok = isinstance(shape, list) and all(isinstance(d, int) for d in shape)
        if not shape_ok or len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise refuse(422, name, f"shape {shape!r}: expected [n] or [n, 1], one value a row")
        if not isinstance(data, list):
            raise refuse(422, name, "data: expected a list of values")
        # Row-major nested data ([[a], [b]]) is allowed as well as flat.
        flat = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in data]
        if len(flat) != shape[0]:
            raise refuse(422, name, f"shape {shape} says {shape[0]} values; data holds {len(flat)}")
        return name, flat

    def response(self, answer: Answer) -> dict[str, Any]:
        n = len(answer.predictions)
        return {
            "model_name": self.name,
            "model_version": answer.model.version,
            "id": answer.request_id,
            "parameters": {"route": answer.route, "feature_set_id": answer.model.feature_set_id},
            "outputs": [
                {"name": OUTPUT, "datatype": "FP64", "shape": [n], "data": answer.predictions}
            ],
        }
