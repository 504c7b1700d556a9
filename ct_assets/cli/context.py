"""What every command needs: the project, its definitions, its instance, its resources."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ct_assets.project.load import Project, load_project

if TYPE_CHECKING:
    import dagster as dg

    from resources.environments import Environment


def project_of(args: argparse.Namespace) -> Project:
    return load_project(getattr(args, "project", None))


def environment_of(project: Project) -> Environment:
    """The project's environment, refused in one line when it lacks a required variable (in
    production the stores' locations come from the environment)."""
    from resources.environments import resolve

    return resolve(project).require()


def definitions_of(project: Project) -> dg.Definitions:
    from ct_assets.definitions import build_definitions

    environment_of(project)
    return build_definitions(project)


@contextmanager
def instance_of(project: Project) -> Iterator[dg.DagsterInstance]:
    """The instance the project runs on: $DAGSTER_HOME when set, else the project's own."""
    from resources.environments import resolve

    with resolve(project).instance() as instance:
        yield instance


@contextmanager
def resources_of(defs: dg.Definitions, *keys: str) -> Iterator[Any]:
    """Resources of `defs` outside a run, with their EnvVars resolved as a run would."""
    import dagster as dg

    with dg.build_resources({k: (defs.resources or {})[k] for k in keys}) as resources:
        yield resources
