"""`sources.redis_stream`: events on a Redis stream, read through a consumer group."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import redis

from ct_assets.project.spec import ProjectSpec
from ct_assets.project.spec.sources import RedisStreamSection
from resources.pulled import register
from resources.pulled.base import Pulled, PulledKind, jsonl, stamp
from resources.sources import SourceError

# The section's own defaults (ct.yaml's `sources.redis_stream`): one place for them.
_DECLARED = RedisStreamSection()


class RedisStreamSource(dg.ConfigurableResource):
    """Events on a Redis stream, read through a consumer group.

    A message is acknowledged only after the raw batch holding it is durably written. Messages
    read but never acknowledged (the reader died) are read again: this consumer's own pending
    ones at once, other consumers' after `reclaim_idle_ms`. Messages of the last landed batch
    that are still pending (died between landing and acknowledging) are acknowledged, not landed
    again. Each message carries its event as JSON in `payload_field`, or as plain fields.
    """

    name: str = "redis_stream"
    url: str
    stream: str = _DECLARED.stream
    group: str = _DECLARED.group
    consumer: str = _DECLARED.consumer
    payload_field: str = "event"
    batch_messages: int = 50_000
    reclaim_idle_ms: int = 60_000

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=30, socket_connect_timeout=5)

    def _ensure_group(self, client: redis.Redis) -> None:
        try:
            client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def pull(self, progress: dict[str, Any]) -> Pulled | None:
        client = self._client()
        try:
            return self._pull(client, progress)
        except redis.RedisError as exc:
            raise SourceError(
                f"{self.name}: cannot read stream {self.stream!r} at {self.url}: {exc}"
            ) from exc

    def _pull(self, client: redis.Redis, progress: dict[str, Any]) -> Pulled | None:
        self._ensure_group(client)
        limit = self.batch_messages
        own = self._read(client, "0", limit)
        _, claimed, _ = client.xautoclaim(
            self.stream, self.group, self.consumer, self.reclaim_idle_ms, "0-0", count=limit
        )
        landed = set(progress.get("batch_ids", []))
        pending = {_text(i): f for i, f in [*own, *claimed]}
        # Already landed, or trimmed from the stream while pending: nothing left to land.
        done = {i for i, f in pending.items() if i in landed or f is None}
        if done:
            client.xack(self.stream, self.group, *done)
        messages = {i: f for i, f in pending.items() if i not in done}
        if len(messages) < limit:
            for i, fields in self._read(client, ">", limit - len(messages)):
                messages[_text(i)] = fields
        if not messages:
            return None
        ids = sorted(messages, key=_id_order)
        lines = [self._line(messages[i]) for i in ids]

        def acknowledge() -> None:
            client.xack(self.stream, self.group, *ids)

        return Pulled(
            data=jsonl(lines),
            file_name=f"{self.stream.replace(':', '_')}_{stamp()}.jsonl",
            rows=len(lines),
            progress={"batch_ids": ids, "last_id": ids[-1]},
            ref=f"{self.url}#{self.stream}",
            details={
                "stream": self.stream,
                "group": self.group,
                "first_id": ids[0],
                "last_id": ids[-1],
                "redelivered": len(pending) - len(done),
            },
            acknowledge=acknowledge,
        )

    def _read(self, client: redis.Redis, start: str, count: int) -> list[tuple[Any, Any]]:
        reply: Any = client.xreadgroup(self.group, self.consumer, {self.stream: start}, count=count)
        return [entry for _, entries in reply for entry in entries] if reply else []

    def _line(self, fields: dict[bytes, bytes]) -> str:
        decoded = {_text(k): _text(v) for k, v in fields.items()}
        payload = decoded.get(self.payload_field)
        return payload if payload is not None and len(decoded) == 1 else json.dumps(decoded)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _id_order(message_id: str) -> tuple[int, int]:
    millis, _, seq = message_id.partition("-")
    return int(millis), int(seq or 0)


def build(section: Any, spec: ProjectSpec, endpoint: Callable[[str | None], str | None]) -> Any:
    return RedisStreamSource(
        url=dg.EnvVar(section.url_env),
        stream=section.stream,
        group=section.group,
        consumer=section.consumer,
    )


register(PulledKind("redis_stream", build))
