"""`sources`: the landing folder and the pulled sources, secrets by environment-variable name."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from ct_assets.project.spec.base import Strict, duration_text

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


class _Secretless(Strict):
    """A source's connection settings: endpoints and secrets by environment-variable name."""

    # Where a secret given literally belongs instead: (the key to use, the variable to set).
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_URL")

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


class SqlSource(_Secretless):
    # The password travels inside the SQLAlchemy URL, so the URL is the secret.
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_SQL_URL")
    url_env: str = "CT_SQL_URL"
    table: str = "events"
    watermark_column: str = "ingested_at"
    key_column: str | None = None  # default: the event_id role
    columns: list[str] | None = None
    batch_rows: int = Field(default=100_000, ge=1)


class RedisStreamSource(_Secretless):
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_REDIS_URL")
    url_env: str = "CT_REDIS_URL"
    stream: str = "ct:events"
    group: str = "ct"
    consumer: str = "ct-ingest"


class HttpApiSource(_Secretless):
    SECRET_HOME: ClassVar[tuple[str, str]] = ("url_env", "CT_HTTP_URL")
    url_env: str = "CT_HTTP_URL"
    token_env: str | None = "CT_HTTP_TOKEN"


class Sources(Strict):
    # A folder beside ct.yaml, or s3://bucket/prefix (credentials from the AWS_* variables).
    landing: str = "landing"
    s3_endpoint_env: str = "CT_S3_ENDPOINT_URL"
    poll_interval: str = "5s"
    sql: SqlSource | None = None
    redis_stream: RedisStreamSource | None = None
    http_api: HttpApiSource | None = None

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

    @property
    def pulled(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, section in (
                ("sql_table", self.sql),
                ("redis_stream", self.redis_stream),
                ("http_api", self.http_api),
            )
            if section is not None
        )
