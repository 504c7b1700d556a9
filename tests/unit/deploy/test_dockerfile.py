"""Unit tests of the deployment files (deploy/, Dockerfile): dockerfile.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from tests.conftest import REPOSITORY
from tests.helpers.deploy import NON_ROOT_UID, baked_fleet, dockerfile_stages


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final_image, final = stages[-1]
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", final_image)
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1])
    assert int(users[-1].split(":")[0]) == NON_ROOT_UID
    exposed = {port for keyword, rest in final if keyword == "EXPOSE" for port in rest.split()}
    assert exposed == {"4000", "8000"}

    builds = [rest for _, steps in stages[:-1] for keyword, rest in steps if keyword == "RUN"]
    syncs = [run for run in builds if "uv sync" in run]
    assert len(syncs) == 2 and all("--locked" in s and "--no-dev" in s for s in syncs)
    assert "--no-install-project" in syncs[0] and "--no-install-project" not in syncs[1]

    installed = " ".join(rest for keyword, rest in final if keyword == "RUN")
    for tool in ("gcc", "build-essential", "g++", "make", "uv ", "pip install"):
        assert tool not in installed
    copied = [rest for keyword, rest in final if keyword == "COPY"]
    assert [c for c in copied if c.startswith("--from=")] == [
        "--from=builder /opt/ct/venv /opt/ct/venv"
    ]


def test_dockerfile_copies_what_the_context_holds() -> None:
    """Every file the builder copies exists and is not excluded by .dockerignore, the baked
    fleet among them."""
    ignored = [
        line.strip()
        for line in (REPOSITORY / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = dockerfile_stages()
    sources = [
        source
        for _, steps in stages
        for keyword, rest in steps
        if keyword == "COPY" and not rest.startswith("--from=")
        for source in rest.split()[:-1]
    ]
    sources = [s.replace("${FLEET}", baked_fleet()) for s in sources]
    assert baked_fleet() in sources
    assert "pyproject.toml" in sources and "uv.lock" in sources
    for source in sources:
        assert (REPOSITORY / source).exists(), source
        patterns = [p.removeprefix("**/") for p in ignored]
        parts = Path(source).parts
        assert not any(fnmatch.fnmatch(part, p) for p in patterns for part in parts), source
        assert not any(fnmatch.fnmatch(source, p) for p in ignored), source
    # The wheel the final `uv sync` builds holds these packages: each must be in the context.
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert set(packages) <= set(sources)
    assert pyproject["project"]["readme"] in sources
