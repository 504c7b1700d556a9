"""A fleet: every project under one folder, side by side in one code location and one instance.

Each project keeps its own ct.yaml, data folder and MLflow store, and lives in the deployment
under its name (`Namespace`): its keys, groups, pools, sensors and resources never meet another
project's. The fleet's Dagster home is the folder's own (`<folder>/.ct/dagster_home`) unless
DAGSTER_HOME says otherwise, so one daemon and one UI serve every project.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ct_assets.names import Namespace
from ct_assets.project.load import HOME_DIR, Project, ProjectError, load_project
from ct_assets.project.yaml_lines import PROJECT_FILE

# Folders never searched for projects: ct's own homes, environments, version control.
SKIPPED = {HOME_DIR, ".venv", "venv", "node_modules", "__pycache__", ".git"}


@dataclass(frozen=True)
class Fleet:
    root: Path
    projects: tuple[Project, ...]

    @property
    def home(self) -> Path:
        return self.root / HOME_DIR

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    def instance_project(self) -> Project:
        """The project whose environment prepares the shared instance: the first, holding the
        largest of every project's run-queue limits (`runs:`), since the queue is shared."""
        first, *_ = self.projects
        runs = {
            field: max(getattr(p.spec.runs, field) for p in self.projects)
            for field in type(first.spec.runs).model_fields
        }
        return first.with_spec({"runs": runs})

    def project(self, chosen: str | Path) -> Project:
        """A project of the fleet by its name or its folder."""
        for project in self.projects:
            if chosen in (project.spec.name, project.namespace.prefix):
                return project
        where = Path(chosen).expanduser().resolve()
        for project in self.projects:
            if where in (project.root, project.file):
                return project
        names = ", ".join(p.spec.name for p in self.projects)
        raise ProjectError(f"{self.root}: no project {str(chosen)!r} in this fleet ({names})")


def project_files(root: Path) -> list[Path]:
    """Every ct.yaml under `root` (not inside ct's homes or environments), in path order."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED and not d.startswith("."))
        if PROJECT_FILE in files:
            found.append(Path(folder) / PROJECT_FILE)
    return sorted(found)


# The variables that place one project; beside others, each is a root holding a folder per
# project (as CT_DATA_URL is), or means nothing (CT_PROJECT).
PLACING = ("CT_HOME", "CT_LANDING_URL", "CT_PROJECT")


def shared_environ(environ: Mapping[str, str], where: object) -> dict[str, str]:
    """The environment a project of a shared deployment (a fleet, a Component) is read with:
    without the variables `place` applies per project. One registered model for every project
    (CT_REGISTERED_MODEL) would give them one champion, and is refused."""
    if environ.get("CT_REGISTERED_MODEL"):
        raise ProjectError(
            f"CT_REGISTERED_MODEL={environ['CT_REGISTERED_MODEL']}: one registered model for "
            f"every project of {where}; declare `registered_model` in each ct.yaml instead"
        )
    return {k: v for k, v in environ.items() if k not in PLACING}


def place(project: Project, namespace: Namespace, environ: Mapping[str, str]) -> Project:
    """The project in its namespace, its home and landing in its own folder of the roots that
    CT_HOME and CT_LANDING_URL name."""
    if environ.get("CT_HOME"):
        home = Path(environ["CT_HOME"]).expanduser().resolve() / namespace.prefix
        project = replace(project, home=home)
    if environ.get("CT_LANDING_URL"):
        landing = f"{environ['CT_LANDING_URL'].rstrip('/')}/{namespace.prefix}"
        project = project.with_spec({"sources": {"landing": landing}})
    return replace(project, namespace=namespace)


def load_fleet(root: str | Path, environ: Mapping[str, str] | None = None) -> Fleet:
    """Every project under `root`, each in the namespace of its name, on the fleet's instance
    (`place` puts each in its own folders). Two projects of one name, or of one registered
    model (one champion for both), are refused."""
    given = os.environ if environ is None else environ
    env = shared_environ(given, f"the fleet {root}")
    folder = Path(root).expanduser().resolve()
    if not folder.is_dir():
        raise ProjectError(f"{folder}: no such folder (the fleet: a folder holding projects)")
    files = project_files(folder)
    if not files:
        raise ProjectError(
            f"{folder}: no {PROJECT_FILE} under this folder: a fleet is a folder whose "
            f"subfolders are projects (`ct init --from FILE` in each)"
        )
    instance_home = folder / HOME_DIR / "dagster_home"
    projects: list[Project] = []
    taken: dict[str, Path] = {}
    models: dict[str, Path] = {}
    for path in files:
        project = load_project(path.parent, env)
        namespace = Namespace.of(project.spec.name)
        if namespace.prefix in taken:
            raise ProjectError(
                f"{path}: name: {project.spec.name!r} is also the name of "
                f"{taken[namespace.prefix]}: projects of one deployment need different names"
            )
        taken[namespace.prefix] = path
        model = project.spec.model_name
        if model in models:
            raise ProjectError(
                f"{path}: registered model {model!r} is also {models[model]}'s: each project of "
                "a deployment needs its own (`registered_model`, else its name)"
            )
        models[model] = path
        placed = place(project, namespace, given)
        projects.append(placed.in_namespace(namespace, instance_home))
    return Fleet(folder, tuple(projects))
