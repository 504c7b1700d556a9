"""`sources.http_api`: a paged JSON HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ct_assets.project.spec import ProjectSpec
from resources.pulled import register
from resources.pulled.base import Pulled, PulledKind, jsonl, stamp
from resources.sources import SourceError


class HttpApiSource(dg.ConfigurableResource):
    """A JSON API returning records a page at a time: `{items: [...], next_cursor: "..."}`.

    Each request passes the cursor of the last page landed; the API returns the records after it
    and the cursor to resume from. Transient failures (connection errors, 429 and 5xx) are
    retried with exponential backoff; after `retries` the pull fails with the URL and the cause.
    """

    name: str = "http_api"
    url: str
    token: str | None = None
    items_field: str = "items"
    cursor_field: str = "next_cursor"
    cursor_param: str = "cursor"
    page_size_param: str = "limit"
    page_size: int = 1_000
    max_pages: int = 100
    timeout_seconds: float = 10.0
    retries: int = 4
    backoff_seconds: float = 0.5

    def _session(self) -> requests.Session:
        retry = Retry(
            total=self.retries,
            backoff_factor=self.backoff_seconds,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
        )
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        if self.token:
            session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def _page(self, session: requests.Session, cursor: str | None, number: int) -> dict[str, Any]:
        params: dict[str, Any] = {self.page_size_param: self.page_size}
        if cursor:
            params[self.cursor_param] = cursor
        try:
            response = session.get(self.url, params=params, timeout=self.timeout_seconds)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise SourceError(
                f"{self.name}: GET {self.url} (page {number}, cursor {cursor!r}) failed after "
                f"{self.retries + 1} attempts with backoff: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError(f"{self.name}: {self.url} page {number} is not JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get(self.items_field), list):
            raise SourceError(
                f"{self.name}: {self.url} page {number} has no list field {self.items_field!r}"
            )
        return body

    def pull(self, progress: dict[str, Any]) -> Pulled | None:
        session = self._session()
        start = cursor = progress.get("cursor")
        records: list[Any] = []
        pages = 0
        with session:
            while pages < self.max_pages:
                body = self._page(session, cursor, pages)
                pages += 1
                items, following = body[self.items_field], body.get(self.cursor_field)
                records.extend(items)
                if following:
                    cursor = str(following)
                if not items or not following:
                    break
        if not records:
            return None
        lines = [json.dumps(record) for record in records]
        return Pulled(
            data=jsonl(lines),
            file_name=f"{self.name}_{stamp()}.jsonl",
            rows=len(lines),
            progress={"cursor": cursor},
            ref=self.url,
            details={"url": self.url, "pages": pages, "cursor_from": start, "cursor_to": cursor},
        )


def build(section: Any, spec: ProjectSpec, endpoint: Callable[[str | None], str | None]) -> Any:
    return HttpApiSource(url=dg.EnvVar(section.url_env), token=endpoint(section.token_env))


register(PulledKind("http_api", build))
