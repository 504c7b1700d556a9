"""`sources`: the landing folder, the pulled sources (secrets by environment-variable name) and
a Dagster asset of the user's own."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, get_args

from pydantic import Field, field_validator, model_validator

from ct_assets.project.spec.base import Duration, Strict, Words, duration_text

# Names in a sources section that would hold a secret or a credentialed URL if given literally.
SECRET_KEYS = ("password", "token", "secret", "url", "dsn", "api_key", "key_secret")
_CREDENTIALS_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]+@", re.IGNORECASE)


def looks_secret(key: str, value: str) -> bool:
    """A value that is a secret by its key's name or a URL carrying credentials (the names
    of environment variables, `*_env`, are not: they say where a secret is, not what)."""
    if key.endswith("_env"):
        return False
    named = key in SECRET_KEYS or key.endswith(("password", "token", "secret"))
    return named or _CREDENTIALS_IN_URL.match(value) is not None


def without_credentials(url: str) -> str:
    """A URL with the password of its credentials masked: s3://user:***@host/..."""
    return _CREDENTIALS_IN_URL.sub(lambda m: m.group(0).rsplit(":", 1)[0] + ":***@", url)


class PulledSection(Strict):
    """A source's connection settings: endpoints and secrets by environment-variable name."""

    # Where a secret given literally belongs instead: (the key to use, the variable to set).
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_URL")
    # The pulled source's name: its resource key, sensor and the `source` of its raw batches
    # (a kind registered in `resources/pulled/`).
    SOURCE: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            if isinstance(value, str) and looks_secret(key, value):
                field, variable = cls.SECRET_HOME
                if key == "token" and "token_env" in cls.model_fields:
                    field, variable = "token_env", variable.replace("_URL", "_TOKEN")
                raise ValueError(
                    f"{key}: a literal {'URL' if key == 'url' else 'secret'} does not belong in "
                    f"ct.yaml; set it in the environment variable {variable} and name that "
                    f"variable here: {field}: {variable}"
                )
        return data


class SqlSection(PulledSection):
    # The password travels inside the SQLAlchemy URL, so the URL is the secret.
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_SQL_URL")
    SOURCE: ClassVar[str] = "sql_table"
    url_env: str = Field(
        default="CT_SQL_URL",
        description="The environment variable holding the SQLAlchemy URL (with its password).",
    )
    table: str = Field(default="events", description="The table events are read from.")
    watermark_column: str = Field(
        default="ingested_at",
        description="A column the database sets at commit (an insert time or sequence): rows "
        "past the last one landed are pulled.",
    )
    key_column: str | None = Field(
        default=None,
        description="The column ordering rows within one watermark value; unset: the event_id "
        "role.",
    )
    columns: list[str] | None = Field(
        default=None, description="The columns read; unset: every column of the table."
    )
    batch_rows: int = Field(
        default=100_000, ge=1, description="At most this many rows are pulled into one batch."
    )


class RedisStreamSection(PulledSection):
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_REDIS_URL")
    SOURCE: ClassVar[str] = "redis_stream"
    url_env: str = Field(
        default="CT_REDIS_URL",
        description="The environment variable holding the Redis URL.",
    )
    stream: str = Field(default="ct:events", description="The Redis stream events are read from.")
    group: str = Field(default="ct", description="The consumer group ct reads in.")
    consumer: str = Field(default="ct-ingest", description="ct's consumer name within the group.")


class HttpApiSection(PulledSection):
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_HTTP_URL")
    SOURCE: ClassVar[str] = "http_api"
    url_env: str = Field(
        default="CT_HTTP_URL",
        description="The environment variable holding the URL events are fetched from.",
    )
    token_env: str | None = Field(
        default="CT_HTTP_TOKEN",
        description="The environment variable holding the bearer token sent with each request.",
    )


# A part of an asset key as Dagster writes one: no "/" (it separates parts), no space.
_KEY_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


class AssetSection(Strict):
    """A Dagster asset of the user's own, defined beside ct in the same code location: every
    materialization of it lands in raw as a batch, loaded through the asset's own IO manager.

    Not a pulled source: nothing to connect to, no resource to build. Its sensor reads the
    Dagster instance and the code location (`sensors/asset_source.py`), and `raw_batches`
    depends on the asset itself in the lineage graph rather than on a `sources/...` node.
    ct.yaml may give the key alone (`asset: etl/orders`) or this mapping.
    """

    # The `source` of its batches (and the name its sensor is known by).
    SOURCE: ClassVar[str] = "dagster_asset"
    key: str = Field(
        description="The asset's key, its parts separated by / (`orders`, `etl/orders`), as "
        "the asset is defined: ct's namespace is not added to it."
    )

    @model_validator(mode="before")
    @classmethod
    def _key_alone(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"key": data}
        if not isinstance(data, dict):
            raise ValueError(
                f"expected an asset key (etl/orders) or a mapping with key, got {data!r}"
            )
        return data

    @field_validator("key")
    @classmethod
    def _an_asset_key(cls, value: str) -> str:
        parts = value.split("/")
        if not all(_KEY_PART.match(part) for part in parts):
            raise ValueError(
                f"{value!r} is not an asset key: parts of letters, digits, _, - and . "
                "separated by / (etl/orders)"
            )
        return value

    @property
    def path(self) -> list[str]:
        """The key's parts, as Dagster's `AssetKey` takes them."""
        return self.key.split("/")


class Sources(Strict):
    landing: str = Field(
        default="landing",
        description="Where files are dropped to be ingested: a folder beside ct.yaml, or "
        "s3://bucket/prefix (credentials from the AWS_* variables).",
    )
    s3_endpoint_env: str = Field(
        default="CT_S3_ENDPOINT_URL",
        description="The environment variable holding the endpoint of an S3-compatible store "
        "(MinIO, say); unset variable: AWS.",
    )
    poll_interval: Duration = Field(
        default="5s", description="How often the sensors look for new files and rows."
    )
    sql: SqlSection | None = Field(
        default=None, description="Pull events from a SQL table; unset: off."
    )
    redis_stream: RedisStreamSection | None = Field(
        default=None, description="Pull events from a Redis stream; unset: off."
    )
    http_api: HttpApiSection | None = Field(
        default=None, description="Pull events from an HTTP API; unset: off."
    )
    asset: Annotated[AssetSection | None, Words("asset key or mapping")] = Field(
        default=None,
        description="Land every materialization of a Dagster asset of your own (defined in "
        "the same code location, stored by any IO manager) as a batch: its key (`etl/orders`) "
        "or a mapping with `key`; unset: off.",
    )

    _p = field_validator("poll_interval")(classmethod(lambda cls, v: duration_text(v)))

    @field_validator("landing")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if _CREDENTIALS_IN_URL.match(value):
            raise ValueError(
                "credentials do not belong in ct.yaml: keep landing as s3://bucket/prefix and "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
            )
        return value

    @classmethod
    def sections(cls) -> dict[str, str]:
        """Each pulled source's name (its section model's `SOURCE`) and its key in `sources`."""
        out = {}
        for key, info in cls.model_fields.items():
            for kind in (info.annotation, *get_args(info.annotation)):
                if isinstance(kind, type) and issubclass(kind, PulledSection):
                    out[kind.SOURCE] = key
        return out

    def declared(self) -> dict[str, PulledSection]:
        """The pulled sources this project declares, by name, with their sections."""
        found = {name: getattr(self, key) for name, key in self.sections().items()}
        return {name: section for name, section in found.items() if section is not None}

    @property
    def pulled(self) -> tuple[str, ...]:
        return tuple(self.declared())
