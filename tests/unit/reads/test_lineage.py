"""Unit tests of ct_assets/reads/lineage.py that need no instance."""

from __future__ import annotations

from typing import Any

from ct_assets.ml.tags import Provenance
from ct_assets.reads.lineage import training_cutoff


class NoInstance:
    """Fails the test if the lineage asks the instance anything."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the instance was asked for {name}")


def test_a_version_no_ct_run_trained_is_read_as_the_data_stands() -> None:
    # The demo's operator forces a model in: it carries `ct.forced`, no run id (was a KeyError).
    forced = Provenance(forced="trained on shuffled labels by the demo's operator").tags()
    assert training_cutoff(NoInstance(), forced) is None  # type: ignore[arg-type]
