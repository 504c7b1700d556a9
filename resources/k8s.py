"""What one step pod asks Kubernetes for, by the kind of step it runs.

Under dagster-k8s' `k8s_job_executor` every step is its own pod; the executor reads the step's
`dagster-k8s/config` op tag (`get_user_defined_k8s_config`) and deep-merges it over the run
launcher's `run_k8s_config`, so this module only states what differs per step: resources and a
label naming the kind (for node pools, quotas and dashboards). Pure: no cluster, no environment.

Training fits LightGBM and scikit-learn candidates on a rolling window and evaluation scores
every candidate and the champion on the holdout: those hold the most rows and models in memory.
Ingest and validation read one batch. Memory limits equal requests: a step that outgrows its
request is killed at once and retried, instead of being evicted later with its node's other pods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

K8S_CONFIG_TAG = "dagster-k8s/config"
STEP_KIND_LABEL = "ct/step-kind"

StepKind = Literal["training", "standard", "light"]


@dataclass(frozen=True)
class StepResources:
    """Kubernetes quantities for one step container."""

    cpu_request: str
    memory: str
    cpu_limit: str

    def requirements(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory},
        }


# Starting points: the candidate_models bench (1M training rows, LightGBM) peaks at 3.1 GiB,
# and training uses one thread per model. A larger project raises them here, or per op through
# the k8s executor's `per_step_k8s_config`.
SIZES: dict[StepKind, StepResources] = {
    "training": StepResources(cpu_request="2", memory="4Gi", cpu_limit="4"),
    "standard": StepResources(cpu_request="500m", memory="1Gi", cpu_limit="2"),
    "light": StepResources(cpu_request="250m", memory="512Mi", cpu_limit="1"),
}

# Every asset group ct declares (`stage_asset(group=...)`). A group missing here fails the
# definitions build: a new stage's pod size is a decision, not a silent default.
GROUP_KINDS: dict[str, StepKind] = {
    "raw": "light",
    "validated": "light",
    "features": "standard",
    "splits": "standard",
    "candidates": "training",
    "evaluations": "training",
    "production": "standard",
    "drift": "standard",
    "monitoring": "standard",
}


def step_kind(group: str) -> StepKind:
    try:
        return GROUP_KINDS[group]
    except KeyError:
        raise KeyError(
            f"asset group {group!r} has no step kind in resources/k8s.py GROUP_KINDS "
            f"(one of {sorted(set(GROUP_KINDS.values()))}): say how large its pods are"
        ) from None


def step_k8s_config(group: str) -> dict[str, Any]:
    """The `dagster-k8s/config` tag value for the steps of an asset group."""
    kind = step_kind(group)
    return {
        "container_config": {"resources": SIZES[kind].requirements()},
        "pod_template_spec_metadata": {"labels": {STEP_KIND_LABEL: kind}},
    }


def step_op_tags(group: str) -> dict[str, str]:
    """Op tags for a group's steps; JSON text, the form dagster-k8s parses back."""
    return {K8S_CONFIG_TAG: json.dumps(step_k8s_config(group), sort_keys=True)}
