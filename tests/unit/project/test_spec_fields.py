"""Every key of ct.yaml is described once, on its model, and the README's reference of the keys
(and of the CT_* variables) is what the models render: editing a description without
regenerating the README fails here, saying the command to run."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from ct_assets.ingest.dialect import Delivery
from ct_assets.project.render import SIDE_NOTES
from ct_assets.project.spec import Clip, ProjectSpec, Ratio, Threshold
from ct_assets.project.spec.reference import (
    BEGIN,
    COMMAND,
    END,
    ENV_BEGIN,
    ENV_END,
    models,
    reference,
    rewritten,
    rows,
    undescribed,
)
from tests.conftest import REPOSITORY


def test_every_field_reachable_from_the_spec_has_a_description() -> None:
    reached = models(ProjectSpec)
    # The walk reaches the format, each transform and the scalar-like thresholds.
    assert {Delivery, Clip, Ratio, Threshold} <= set(reached)
    assert sum(len(m.model_fields) for m in reached) >= 170
    assert undescribed(ProjectSpec) == []


class _Inner(BaseModel):
    described: int = Field(default=0, description="A number.")
    bare: int = 0


class _Outer(BaseModel):
    inner: _Inner = Field(default=_Inner(), description="A section.")
    items: list[_Inner] | None = None


def test_a_field_added_without_a_description_is_found() -> None:
    assert models(_Outer) == [_Outer, _Inner]
    assert undescribed(_Outer) == ["_Outer.items", "_Inner.bare"]


def test_the_readme_holds_the_generated_reference() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    for marker in (BEGIN, END, ENV_BEGIN, ENV_END):
        assert readme.count(marker) == 1, f"README.md lacks the marker {marker!r}"
    assert rewritten(readme) == readme, (
        f"README.md's ct.yaml reference is out of date: run `uv run {COMMAND}`"
    )


def test_the_reference_has_a_row_per_key_with_type_default_and_meaning() -> None:
    table = {row.key: row for row in rows()}
    top_k = table["training.selection.top_k"]
    assert (top_k.type, top_k.default) == ("int ≥ 0", "`0`")
    assert table["quality.duplicate_rows"].type == "one of: refuse, keep"
    assert table["freshness.sources.warn"].type == "duration"
    assert table["features.windows.aggregates[].windows"].type == "list of duration"
    assert table["gates.margin"].type == "number or percentage"
    assert table["serving.canary_fraction"].type == "number in [0, 1]"
    # A nested section's default is its parent's: the model waits longer than the sources.
    assert table["freshness.model.fail"].default == "`48h`"
    assert table["freshness.sources.fail"].default == "`36h`"
    # Defaults that depend on the task are read from TASK_DEFAULTS, per task.
    assert table["gates.margin"].default == "binary: `0.01`; regression: `1%`"
    assert table["policy.evaluation_gap"].default == "binary: `0.05`; regression: `10%`"
    assert table["dataset.roles.label"].default == "required"
    assert table["features.transforms[op=clip].lower"].default == "unset"
    assert all(row.description for row in table.values())


def test_rewriting_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        rewritten("# a README without the generated blocks\n")
    block = f"{BEGIN}\nstale\n{END}\n{ENV_BEGIN}\nstale\n{ENV_END}\n"
    assert reference() in rewritten(block)


def test_side_notes_of_vocabularies_read_their_definitions() -> None:
    assert SIDE_NOTES[("task", "type")] == "binary | regression"
    assert SIDE_NOTES[("task", "metric")] == "roc_auc | log_loss (binary); rmse | mae (regression)"
    assert SIDE_NOTES[("policy", "retrain", "triggers")] == (
        "every_partition | drift | performance | schedule"
    )
