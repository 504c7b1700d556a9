"""What every command needs: the project (alone, or one of a fleet), its definitions, its
instance, its resources."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ct_assets.project.fleet import Fleet, load_fleet
from ct_assets.project.load import Project, ProjectError, load_project

if TYPE_CHECKING:
    import dagster as dg

# The fleet a command works on when --fleet is not given (the code location reads it too).
FLEET_VARIABLE = "CT_FLEET"
PROJECT_VARIABLE = "CT_PROJECT"


def fleet_folder(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The fleet the command line names: --fleet, else CT_FLEET; None for a lone project."""
    return getattr(args, "fleet", None) or environ.get(FLEET_VARIABLE) or None


def chosen_project(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The project the command line names: --project, else CT_PROJECT (None: not named)."""
    return getattr(args, "project", None) or environ.get(PROJECT_VARIABLE) or None


def fleet_of(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Fleet | None:
    """Every project of the fleet the command line names, or None when it names none."""
    env = os.environ if environ is None else environ
    folder = fleet_folder(args, env)
    return None if folder is None else load_fleet(folder, env)


def project_in(fleet: Fleet, chosen: str | None, cwd: Path) -> Project:
    """The project of `fleet` that `chosen` names (its name or its folder); unnamed, the one
    the current directory is in, else the fleet's only project."""
    if chosen is not None:
        return fleet.project(chosen)
    here = cwd.resolve()
    for project in fleet.projects:
        if here == project.root or project.root in here.parents:
            return project
    if len(fleet.projects) == 1:
        return fleet.projects[0]
    names = ", ".join(p.spec.name for p in fleet.projects)
    raise ProjectError(
        f"{fleet.root}: a fleet of {len(fleet.projects)} projects ({names}): name one with "
        f"--project NAME"
    )


def project_of(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Project:
    """The project a command works on: alone (--project, CT_PROJECT, the current folder) as
    ct always read it, or one of a fleet (--fleet or CT_FLEET), carrying its namespace and the
    fleet's instance."""
    env = os.environ if environ is None else environ
    fleet = fleet_of(args, env)
    if fleet is None:
        return load_project(getattr(args, "project", None), env)
    return project_in(fleet, chosen_project(args, env), Path.cwd())


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
def resources_of(project: Project, defs: dg.Definitions, *keys: str) -> Iterator[Any]:
    """Resources of `defs` outside a run, with their EnvVars resolved as a run would, handed
    back under their short names (`res.mlflow`) whatever the project's namespace calls them;
    one that reads a variable the environment does not set is refused in one line naming it."""
    import dagster as dg

    from resources.environments import PRODUCTION_VARIABLES

    named = {key: project.namespace.name(key) for key in keys}
    chosen = {named[k]: (defs.resources or {})[named[k]] for k in keys}
    unset = sorted({v for r in chosen.values() for v in unset_variables(r, os.environ)})
    if unset:
        shown = [
            f"{v} ({PRODUCTION_VARIABLES[v][0]})" if v in PRODUCTION_VARIABLES else v for v in unset
        ]
        raise ProjectError(
            f"not set in the environment: {'; '.join(shown)}: read by the "
            f"{', '.join(keys)} resource{'s' if len(keys) > 1 else ''}"
        )
    with dg.build_resources(chosen) as resources:
        yield SimpleNamespace(**{key: getattr(resources, named[key]) for key in keys})


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
