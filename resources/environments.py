"""Where a project runs, decided here and nowhere else: `local` or `production`.

`environment` in ct.yaml (or CT_ENV, laid over it when the project is read) picks one; this
module is the only one that turns that choice into places and endpoints: the Dagster instance
(its home and dagster.yaml), where stored artifacts live, the MLflow tracking server, the
executor and the resource set. It reads the process environment once, in `resolve`, and hands
the result down as a value; it never writes to `os.environ`.

- local (the default, nothing to configure): a SQLite instance under the project's `.ct/`,
  artifacts in `.ct/data`, a SQLite MLflow store in `.ct/mlflow`.
- production: Dagster storage in PostgreSQL (dagster-postgres), a run queue with a global limit
  and per-tag limits, every artifact under `CT_DATA_URL` (s3://bucket/prefix through s3fs), an
  MLflow tracking server, Redis as the online store, and on Kubernetes one pod per step
  (`CT_EXECUTOR=k8s`). Endpoints and secrets stay `dagster.EnvVar`s: read when a run needs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from ct_assets.ingest.files import Location, data_root, write_object
from ct_assets.names import RUN_KIND_TAG, TRAINING_RUNS
from ct_assets.project.load import Project, ProjectError
from resources import pulled
from resources.alerts import AlertHook
from resources.io_managers import JsonIOManager, ParquetIOManager
from resources.mlflow_registry import MlflowRegistry
from resources.online_store import OnlineStore, RedisOnlineStore, SqliteOnlineStore
from resources.serving_probe import ServingProbes
from resources.sources import FileDropSource
from resources.storage import ArtifactStore, BatchStore

ENVIRONMENTS = ("local", "production")
EXECUTORS = ("in_process", "k8s")
# The repository's local instance configuration, copied into a project's Dagster home.
LOCAL_INSTANCE = Path(__file__).resolve().parents[1] / "dagster.yaml"
BACKFILL_TAG = "dagster/backfill"
POSTGRES_SCHEME = "postgresql+psycopg2"
RENDERED = "# Written by ct from ct.yaml (`runs:`) for CT_ENV=production; edit ct.yaml, not this.\n"

# Production's variables: what each names, and whether production can run without it.
PRODUCTION_VARIABLES: dict[str, tuple[str, bool]] = {
    "CT_DAGSTER_POSTGRES_URL": (
        "Dagster's run, event-log and schedule storage: postgresql+psycopg2://user:pw@host/db",
        True,
    ),
    "CT_DATA_URL": ("every stored artifact: s3://bucket/prefix (or a folder)", True),
    "MLFLOW_TRACKING_URI": ("the MLflow tracking server and model registry", True),
    "CT_ONLINE_STORE_URL": ("the Redis online feature store", True),
    "CT_MLFLOW_ARTIFACT_ROOT": ("artifact root of new experiments (default: the server's)", False),
    "CT_EXECUTOR": ("in_process (default) or k8s: one pod per step", False),
}


@dataclass(frozen=True)
class Environment:
    """A project in one environment, with what the process environment said about it."""

    name: str
    project: Project
    environ: Mapping[str, str]

    @property
    def production(self) -> bool:
        return self.name == "production"

    def _set(self, variable: str) -> str | None:
        return self.environ.get(variable) or None

    def _required(self, variable: str) -> str:
        """A variable production cannot do without, refused in one line when unset."""
        value = self._set(variable)
        if value is None:
            what = PRODUCTION_VARIABLES[variable][0]
            raise ProjectError(
                f"{self.project.root}: environment production needs {variable} ({what})"
            )
        return value

    def _endpoint(self, variable: str | None) -> Any:
        """An endpoint or secret that may be absent: an EnvVar when set, else None."""
        return dg.EnvVar(variable) if variable and self._set(variable) else None

    # -- where things are ----------------------------------------------------------------------

    @property
    def s3_endpoint(self) -> str | None:
        return self._set(self.project.spec.sources.s3_endpoint_env)

    @property
    def data_url(self) -> str:
        if self.production:
            shared = self._required("CT_DATA_URL").rstrip("/")
            prefix = self.project.namespace.prefix
            return f"{shared}/{prefix}" if prefix else shared
        return str(self.project.data_dir)

    def data_root(self) -> Location:
        """Where stored artifacts are, as a path (for commands outside a Dagster run)."""
        return data_root(self.data_url, self.s3_endpoint)

    @property
    def dagster_home(self) -> Path:
        """DAGSTER_HOME when set (a cluster sets it), else the project's own for this
        environment: a production instance never shares a home with the local one."""
        if self._set("DAGSTER_HOME"):
            return Path(self.environ["DAGSTER_HOME"]).resolve()
        home = self.project.dagster_home
        return home.with_name(f"{home.name}.production") if self.production else home

    @property
    def tracking_uri(self) -> str:
        if self.production:
            return self._required("MLFLOW_TRACKING_URI")
        return f"sqlite:///{self.project.mlflow_dir / 'mlflow.db'}"

    @property
    def executor(self) -> str:
        chosen = self._set("CT_EXECUTOR") or "in_process"
        if chosen not in EXECUTORS:
            raise ProjectError(f"CT_EXECUTOR={chosen!r}: expected one of {', '.join(EXECUTORS)}")
        return chosen

    # -- the Dagster instance ------------------------------------------------------------------

    def instance_config(self) -> dict[str, Any]:
        """The dagster.yaml of this environment's instance."""
        config: dict[str, Any] = yaml.safe_load(LOCAL_INSTANCE.read_text())
        if not self.production:
            return config
        runs = self.project.spec.runs
        config.pop("concurrency", None)
        config["storage"] = {"postgres": {"postgres_url": {"env": "CT_DAGSTER_POSTGRES_URL"}}}
        config["concurrency"] = {
            "runs": {
                "max_concurrent_runs": runs.max_concurrent,
                "tag_concurrency_limits": [
                    {"key": RUN_KIND_TAG, "value": TRAINING_RUNS, "limit": runs.training},
                    {"key": BACKFILL_TAG, "limit": runs.backfills},
                ],
            },
            # Only production_model declares a pool ("promotion"): champion moves one at a time.
            "pools": {"default_limit": 1},
        }
        return config

    def prepare_instance(self) -> Path:
        """The instance's home with its dagster.yaml: local keeps a file someone edited,
        production's is rendered from ct.yaml each time (its limits live there)."""
        home = self.dagster_home
        home.mkdir(parents=True, exist_ok=True)
        target = home / "dagster.yaml"
        if self.production:
            text = RENDERED + yaml.safe_dump(self.instance_config(), sort_keys=False)
            write_object(target, text.encode())
        elif not target.exists():
            shutil.copyfile(LOCAL_INSTANCE, target)
        elif added := missing_sections(target.read_text(), LOCAL_INSTANCE.read_text()):
            # An instance made by an earlier ct keeps its edits and gains what it lacks (run
            # monitoring and retries came later): appended, so its comments survive.
            write_object(target, (target.read_text().rstrip("\n") + "\n" + added).encode())
        return home

    def instance(self) -> dg.DagsterInstance:
        """The instance the project runs on; it must have been prepared (`ct up`) first."""
        if not (self.dagster_home / "dagster.yaml").exists():
            fleet = self.project.instance_home
            how = f"ct up --fleet {fleet.parent.parent}" if fleet else "ct up"
            raise ProjectError(
                f"{self.project.root} has no Dagster instance yet ({self.dagster_home}): "
                f"run `{how}` first"
            )
        return dg.DagsterInstance.from_config(str(self.dagster_home))

    def child_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The environment of every process ct starts for the project: they must agree."""
        return {
            **self.environ,
            "DAGSTER_HOME": str(self.dagster_home),
            "CT_PROJECT": str(self.project.root),
            "CT_HOME": str(self.project.home),
            "CT_ENV": self.name,
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def missing(self) -> list[str]:
        """Required variables this environment lacks, each with what it is for."""
        if not self.production:
            return []
        return [
            f"{name} ({what})"
            for name, (what, required) in PRODUCTION_VARIABLES.items()
            if required and not self._set(name)
        ]

    def require(self) -> Environment:
        if lacking := self.missing():
            raise ProjectError(
                f"{self.project.root}: environment production needs " + "; ".join(lacking)
            )
        url = self._set("CT_DAGSTER_POSTGRES_URL")
        if url is not None and not url.startswith(POSTGRES_SCHEME):
            # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, on which dagster-postgres'
            # NOTIFY fails with a syntax error deep in a run.
            scheme = url.split("://", 1)[0]
            raise ProjectError(
                f"CT_DAGSTER_POSTGRES_URL: Dagster's storage needs the psycopg2 driver: write "
                f"{POSTGRES_SCHEME}://... (not {scheme}://...)"
            )
        return self

    # -- resources -----------------------------------------------------------------------------

    def resources(self) -> dict[str, Any]:
        """Every resource of the project's definitions in this environment, each under the name
        its namespace gives it (a lone install: the bare names)."""
        resources = {
            **self.pulled_sources(),
            **self.stores(),
            "online_store": self.online_store(),
            "alerts": AlertHook(webhook_url=self._endpoint("CT_ALERT_WEBHOOK_URL")),
            "file_drop": FileDropSource(
                url=self.project.landing,
                endpoint_url=self._endpoint(self.project.spec.sources.s3_endpoint_env),
                skip_folders=[self.project.spec.serving.labels_folder],
            ),
            "mlflow": (registry := self.registry()),
            "serving_probes": ServingProbes(mlflow=registry),
        }
        return {self.project.namespace.name(key): value for key, value in resources.items()}

    def stores(self) -> dict[str, Any]:
        """The artifact stores and the io managers, all under one data location."""
        where: Any = dg.EnvVar("CT_DATA_URL") if self.production else self.data_url
        endpoint = self._endpoint(self.project.spec.sources.s3_endpoint_env)
        # Local data is the project's own folder; a shared CT_DATA_URL holds a folder per project.
        mine = self.project.namespace.prefix if self.production else ""
        return {
            "artifacts": ArtifactStore(base_dir=where, endpoint_url=endpoint, namespace=mine),
            "batch_store": BatchStore(base_dir=where, endpoint_url=endpoint, namespace=mine),
            "io_manager": ParquetIOManager(base_dir=where, endpoint_url=endpoint),
            "json_io_manager": JsonIOManager(base_dir=where, endpoint_url=endpoint),
        }

    def registry(self) -> MlflowRegistry:
        model = self.project.spec.model_name
        # A project beside others logs its runs in an experiment of its own (a lone install
        # keeps the one it always had): the MLflow UI shows each project's runs apart.
        experiment = self.project.namespace.project or "ct"
        if self.production:
            return MlflowRegistry(
                tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"),
                artifact_root=self._endpoint("CT_MLFLOW_ARTIFACT_ROOT"),
                registered_model=model,
                experiment=experiment,
            )
        return MlflowRegistry(
            tracking_uri=self.tracking_uri,
            artifact_root=str(self.project.mlflow_dir / "artifacts"),
            registered_model=model,
            experiment=experiment,
        )

    def online_store(self) -> OnlineStore:
        """Redis in production (or wherever CT_ONLINE_STORE_URL is set); else a SQLite file."""
        if self.production or self._set("CT_ONLINE_STORE_URL"):
            return RedisOnlineStore(
                url=dg.EnvVar("CT_ONLINE_STORE_URL"),
                prefix=(self._set("CT_ONLINE_STORE_PREFIX") or "ct:features:")
                + (f"{self.project.namespace.prefix}:" if self.project.namespace.prefix else ""),
            )
        return SqliteOnlineStore(path=str(self.project.data_dir / "online_features.sqlite"))

    def pulled_sources(self) -> dict[str, dg.ConfigurableResource]:
        """The pulled sources declared in ct.yaml, each built by its kind (`resources.pulled`);
        endpoints and secrets stay environment variables (ct.yaml names the variable, never the
        value)."""
        spec = self.project.spec
        return {
            name: pulled.get(name).build(section, spec, self._endpoint)
            for name, section in spec.sources.declared().items()
        }

    def executor_def(self) -> dg.ExecutorDefinition:
        """One process per run (steps of a partition are small), or one pod per step."""
        if self.executor == "k8s":
            from dagster_k8s import k8s_job_executor

            return k8s_job_executor
        return dg.in_process_executor


def resolve(project: Project, environ: Mapping[str, str] | None = None) -> Environment:
    """The project's environment, from ct.yaml (with CT_ENV laid over it) and the process
    environment. The only place ct reads `os.environ` for where things are."""
    name = project.spec.environment
    if name not in ENVIRONMENTS:
        raise ProjectError(f"environment {name!r}: expected one of {', '.join(ENVIRONMENTS)}")
    return Environment(name, project, dict(os.environ if environ is None else environ))


def build_resources(project: Project) -> dict[str, Any]:
    """`local`: files under the project's `.ct/` and a SQLite MLflow store.
    `production`: every location and endpoint from environment variables."""
    return resolve(project).resources()


def missing_sections(current: str, template: str) -> str:
    """The top-level sections of the `template` dagster.yaml, with the comments just above
    them, that `current` does not set (empty when none is missing)."""
    have = set(yaml.safe_load(current) or {})
    sections: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for line in template.splitlines():
        top = line[:1] not in ("", " ", "#")
        if top:
            sections.append((line.split(":", 1)[0], [*pending, line]))
            pending = []
        elif line.startswith("#") or not line.strip():
            pending.append(line)
        elif sections:
            sections[-1][1].append(line)
    # The comment block before the first section is the file's header, not a section's.
    return "".join(
        "\n" + "\n".join(lines).strip("\n") + "\n" for key, lines in sections if key not in have
    )
