"""ct as a Dagster Component: a project's whole pipeline in a user's own `dg` project.

A `defs.yaml` of type `ct_assets.component.ContinuousTraining` names a ct.yaml (`project:`) or
declares one inline (`spec:`); its definitions are `build_definitions` of that project in its
namespace (`churn/raw_batches`, `churn__file_drop`), so several projects and the user's own
assets share one code location and one instance. `dg scaffold defs` writes the defs.yaml and,
from a sample, the ct.yaml `ct init` would (`scaffold.py`).

This module is what `dg list components` imports (the `dagster_dg_cli.registry_modules` entry
point): the pipeline itself is imported only when Dagster builds the definitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import dagster as dg
from dagster_shared.yaml_utils.source_position import SourcePositionTree
from pydantic import Field, PrivateAttr

from ct_assets.component.scaffold import ContinuousTrainingScaffolder

if TYPE_CHECKING:
    from ct_assets.project.load import Project

__all__ = ["ContinuousTraining"]

SUMMARY = "Continuous training of one ct project: its data, features, models and gates as assets."
# The kinds of definitions a project gives Dagster, for the UI's component picker.
PRODUCES = ("asset", "asset_check", "sensor", "schedule", "job", "resource")


def _as_written(context: dg.ResolutionContext, value: Any) -> Any:
    """The inline spec exactly as YAML reads it: Dagster's templating would render its strings
    as Python literals (a quoted "1" becoming the number 1) before ct validates them."""
    return value


@dg.scaffold_with(ContinuousTrainingScaffolder)
class ContinuousTraining(dg.Component, dg.Resolvable, dg.Model):
    """Continuous training of one ct project: its data, features, models and gates as assets.

    Every file that lands is validated, featurized and trained on; a candidate becomes the
    champion in MLflow only through the project's gates; all of it as partitioned assets, checks
    and sensors under the project's name.
    """

    project: str | None = Field(
        default=None,
        description="The project's ct.yaml, or the folder holding it, relative to this "
        "defs.yaml's folder. Give this or `spec`.",
    )
    spec: Annotated[
        dict[str, Any] | None,
        dg.Resolver(_as_written, model_field_type=dict[str, Any] | None),
    ] = Field(
        default=None,
        description="The project declared here instead of in a ct.yaml: the same keys, "
        "validated the same way. Its data, landing folder and MLflow store are under this "
        "defs.yaml's folder (landing/, .ct/).",
    )
    key_prefix: str | None = Field(
        default=None,
        description="The first part of every asset key, and the prefix of the project's "
        "groups, sensors, jobs and resources (default: the project's name).",
    )

    # Where defs.yaml writes each attribute, kept from loading for errors to name its lines.
    _positions: SourcePositionTree | None = PrivateAttr(default=None)

    @classmethod
    def load(cls, attributes: Any, context: dg.ComponentLoadContext) -> ContinuousTraining:
        component = super().load(attributes, context)
        component._positions = context.resolution_context.source_position_tree
        return component

    @classmethod
    def get_spec(cls) -> dg.ComponentTypeSpec:
        return dg.ComponentTypeSpec(
            description=SUMMARY, tags=["ml", "continuous-training"], produces=PRODUCES
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        # Imported here: listing components must not pay for the pipeline's imports.
        from ct_assets.definitions import build_definitions
        from ct_assets.project.load import ProjectError

        try:
            project = self.load_project(context)
        except ProjectError as error:
            # Bad input is the user's to fix where the message points (defs.yaml or ct.yaml,
            # line, key): Dagster shows the frames an error went through, and ct's reader's
            # are no help there.
            raise error.with_traceback(None) from None
        built = build_definitions(project)
        # The executor is the code location's to choose, and one set here would also run the
        # user's own assets (or clash with theirs): ct's steps run under any executor.
        return dg.Definitions(
            assets=built.assets,
            asset_checks=built.asset_checks,
            schedules=built.schedules,
            sensors=built.sensors,
            jobs=built.jobs,
            resources=built.resources,
            loggers=built.loggers,
            metadata=built.metadata,
        )

    def load_project(self, context: dg.ComponentLoadContext) -> Project:
        """The project this defs.yaml declares, in its namespace; bad input is a ProjectError
        naming the defs.yaml (or ct.yaml) line and key."""
        from ct_assets.component.declared import declared_project

        return declared_project(
            folder=context.path,
            project=self.project,
            spec=self.spec,
            key_prefix=self.key_prefix,
            positions=self._positions,
        )
