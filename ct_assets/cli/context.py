"""What every command needs: the project, its definitions, its instance, its resources."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ct_assets.project.load import Project, ProjectError, load_project

if TYPE_CHECKING:
    import dagster as dg


def project_of(args: argparse.Namespace) -> Project:
    return load_project(getattr(args, "project", None))


def definitions_of(project: Project) -> dg.Definitions:
    from ct_assets.definitions import build_definitions

    return build_definitions(project)


@contextmanager
def instance_of(project: Project) -> Iterator[dg.DagsterInstance]:
    """The instance the project runs on: $DAGSTER_HOME when set, else the project's own."""
    from resources.environments import resolve

    with resolve(project).instance() as instance:
        yield instance


@contextmanager
def resources_of(defs: dg.Definitions, *keys: str) -> Iterator[Any]:
    """Resources of `defs` outside a run, with their EnvVars resolved as a run would; one
    that reads a variable the environment does not set is refused in one line naming it."""
    import dagster as dg

    from resources.environments import PRODUCTION_VARIABLES

    chosen = {k: (defs.resources or {})[k] for k in keys}
    unset = sorted({v for r in chosen.values() for v in unset_variables(r, os.environ)})
    if unset:
        named = [
            f"{v} ({PRODUCTION_VARIABLES[v][0]})" if v in PRODUCTION_VARIABLES else v for v in unset
        ]
        raise ProjectError(
            f"not set in the environment: {'; '.join(named)}: read by the "
            f"{', '.join(keys)} resource{'s' if len(keys) > 1 else ''}"
        )
    with dg.build_resources(chosen) as resources:
        yield resources


def unset_variables(value: Any, environ: Mapping[str, str]) -> list[str]:
    """The environment variables a resource's configuration names (`dg.EnvVar`, read only
    when the resource is built) that `environ` lacks, in nested resources too."""
    import dagster as dg
    from pydantic import BaseModel

    if isinstance(value, dg.EnvVar):
        return [] if value.env_var_name in environ else [value.env_var_name]
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return [v for name in fields for v in unset_variables(getattr(value, name), environ)]
    if isinstance(value, list | tuple):
        return [v for item in value for v in unset_variables(item, environ)]
    return []
