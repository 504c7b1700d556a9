"""`dg scaffold defs ct_assets.component.ContinuousTraining PATH`: a project in a `dg` project.

With a sample (`--json-params '{"sample": "data/churn.csv"}'`, or `--sample data/churn.csv`) it
does what `ct init --from` does: infers the ct.yaml from the sample, writes it with an empty
landing/ folder and a .gitignore for .ct/ in PATH, prints every guess with its reason, and
writes the defs.yaml naming that ct.yaml. Without one, the defs.yaml names a ct.yaml still to
be written, with the two ways to make it in comments.
"""

from __future__ import annotations

from pathlib import Path

import click
import dagster as dg
from pydantic import BaseModel, Field

from ct_assets.project.yaml_lines import PROJECT_FILE

# The same flags as `ct init`, so an error that names one (`pass --label COL`) names a key here.
HOW_TO_PASS = 'as dg scaffold parameters: --json-params \'{"label": "COL"}\' or --label COL'


class ScaffoldParams(BaseModel):
    """What `ct init` is told, as dg scaffold parameters."""

    sample: str | None = Field(
        default=None,
        description="A sample of the data (CSV, JSON Lines, Parquet, ...), relative to where dg "
        "runs: ct infers the project's ct.yaml from it, as `ct init --from` does.",
    )
    label: str | None = Field(default=None, description="The column to predict.")
    time: str | None = Field(default=None, description="The event-time column.")
    entity: str | None = Field(default=None, description="Whose history window features use.")
    task: str | None = Field(default=None, description="binary or regression (default: inferred).")
    dates: str | None = Field(
        default=None, description="day-first or month-first, where the sample's dates read both."
    )
    name: str | None = Field(default=None, description="The project's name (default: PATH's).")


class ContinuousTrainingScaffolder(dg.Scaffolder[ScaffoldParams]):
    @classmethod
    def get_scaffold_params(cls) -> type[ScaffoldParams]:
        return ScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[ScaffoldParams]) -> None:
        folder = request.target_path
        params = request.params
        if params.sample is None:
            (folder / "defs.yaml").write_text(template(request.type_name, folder.name))
            return
        from ct_assets.project.load import ProjectError

        try:
            text = _inferred(folder, params, request.project_root)
        except ProjectError as error:
            # A one-line refusal (no such sample, a choice to make), as `ct init` gives it.
            raise click.ClickException(str(error)) from None
        (folder / "defs.yaml").write_text(defs_yaml(request.type_name))
        click.echo(text)


def _inferred(folder: Path, params: ScaffoldParams, project_root: Path | None) -> str:
    """ct init's inference from the sample into `folder`; what it says about its guesses."""
    from ct_assets.cli.init import LANDING, MAX_ROWS, summary, write_project
    from ct_assets.project.infer import CannotInfer, InitOptions, infer_project, project_name
    from ct_assets.project.render import render_yaml
    from ct_assets.project.sample import read_sample

    assert params.sample is not None
    sample = _sample_path(params.sample, project_root)
    options = InitOptions(
        label=params.label,
        time=params.time,
        entity=params.entity,
        task=params.task,
        name=project_name(params.name or folder.name),
        dates=params.dates,
    )
    try:
        inference = infer_project(read_sample(sample, MAX_ROWS), options)
    except CannotInfer as question:
        raise CannotInfer(f"{sample}: {question} ({HOW_TO_PASS})") from None
    written = write_project(folder, render_yaml(inference), force=False)
    landing = folder / LANDING
    then = f"next: review {folder / PROJECT_FILE}, `dg dev`, then copy data files into {landing}/"
    return summary(inference, folder, written, next_step=then)


def _sample_path(given: str, project_root: Path | None) -> Path:
    """The sample as given (from where dg runs), else relative to the dg project's root."""
    from ct_assets.project.load import ProjectError

    path = Path(given).expanduser()
    found = [p for p in (path, *([project_root / path] if project_root else [])) if p.is_file()]
    if not found:
        where = f" (nor in {project_root})" if project_root and not path.is_absolute() else ""
        raise ProjectError(f"sample {given}: no such file in {Path.cwd()}{where}")
    return found[0]


def defs_yaml(type_name: str) -> str:
    return (
        f"type: {type_name}\n"
        "attributes:\n"
        f"  # The project's declaration, written by ct's inference from the sample: review it.\n"
        f"  project: {PROJECT_FILE}\n"
    )


def template(type_name: str, name: str) -> str:
    return f"""type: {type_name}
attributes:
  # The project's declaration: a {PROJECT_FILE} beside this file (or its folder), not written yet.
  # Infer one from a sample of the data (in this folder):
  #   ct init --from path/to/sample.csv --out . --name {name}
  # or scaffold again with one:
  #   dg scaffold defs {type_name} PATH --json-params '{{"sample": "path/to/sample.csv"}}'
  project: {PROJECT_FILE}
  # Or declare it here instead of `project:`, with the same keys as a {PROJECT_FILE}:
  # spec:
  #   name: {name}
  #   dataset: {{...}}
  #   task: {{...}}
  #   features: {{...}}
  # Every asset key starts with the project's name; to choose another:
  # key_prefix: {name}
"""
