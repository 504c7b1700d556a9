"""The online feature store: each entity's latest feature vector, with its feature-set id.

Redis in production (one hash per entity, written in pipelined batches); a SQLite file for the
local default, so the demo needs no server. Both keep the newer vector when writes race or data
arrives late: a vector replaces the stored one only if its event time is not older, or if it
belongs to another feature set (new definitions win).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import dagster as dg
import redis

from ct_assets.ml.online import FeatureVector

CHUNK = 1_000


class OnlineStore(dg.ConfigurableResource):
    """What the `online_features` asset writes and serving reads."""

    def write(self, vectors: Sequence[FeatureVector]) -> int:
        """Store vectors; returns how many replaced what was there (or were new)."""
        raise NotImplementedError

    def get(self, entity: str) -> FeatureVector | None:
        raise NotImplementedError

    def location(self) -> str:
        raise NotImplementedError


# One call per chunk: KEYS are the entities' hashes; ARGV holds (event time in µs, feature set,
# packed vector) for each key in turn. Returns how many were written.
_WRITE_IF_NEWER = """
local written = 0
for i, key in ipairs(KEYS) do
  local t, s = unpack(redis.call('HMGET', key, 't', 's'))
  local base = (i - 1) * 3
  if (not t) or s ~= ARGV[base + 2] or tonumber(t) <= tonumber(ARGV[base + 1]) then
    redis.call('HSET', key, 't', ARGV[base + 1], 's', ARGV[base + 2], 'v', ARGV[base + 3])
    written = written + 1
  end
end
return written
"""


@lru_cache(maxsize=16)
def _redis(url: str) -> redis.Redis:
    # One client (and its connection pool) per process and URL: serving reads a vector per
    # request, and a connection per read would cost more than the read.
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)


_readers = threading.local()


def _sqlite_reader(path: str) -> sqlite3.Connection:
    """This thread's read connection to the store (sqlite3 connections stay in their thread)."""
    opened: dict[str, sqlite3.Connection] = getattr(_readers, "opened", None) or {}
    _readers.opened = opened
    if path not in opened:
        opened[path] = sqlite3.connect(path, timeout=30)
    return opened[path]


class RedisOnlineStore(OnlineStore):
    url: str
    prefix: str = "ct:features:"

    def _client(self) -> redis.Redis:
        return _redis(self.url)

    def key(self, entity: str) -> str:
        return f"{self.prefix}{entity}"

    def write(self, vectors: Sequence[FeatureVector]) -> int:
        client = self._client()
        script = client.register_script(_WRITE_IF_NEWER)
        now = datetime.now(UTC)
        written = 0
        # The script sees a chunk's keys at once: one round trip, one call per 1,000 vectors.
        with client.pipeline(transaction=False) as pipe:
            for start in range(0, len(vectors), CHUNK):
                chunk = vectors[start : start + CHUNK]
                args: list[int | str | bytes] = []
                for vector in chunk:
                    args += [vector.micros, vector.feature_set_id, vector.pack(now)]
                script(keys=[self.key(v.entity) for v in chunk], args=args, client=pipe)
            written = sum(int(r) for r in pipe.execute())
        return written

    def get(self, entity: str) -> FeatureVector | None:
        blob = self._client().hget(self.key(entity), "v")
        return FeatureVector.unpack(blob) if blob else None  # type: ignore[arg-type]

    def location(self) -> str:
        return f"{self.url} ({self.prefix}*)"


class SqliteOnlineStore(OnlineStore):
    path: str

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute(
                "create table if not exists online_features (entity text primary key, "
                "t integer not null, s text not null, v blob not null)"
            )
            with db:
                yield db
        finally:
            db.close()

    def write(self, vectors: Sequence[FeatureVector]) -> int:
        now = datetime.now(UTC)
        with self._db() as db:
            before = db.total_changes
            db.executemany(
                "insert into online_features values (?, ?, ?, ?) on conflict(entity) do update "
                "set t = excluded.t, s = excluded.s, v = excluded.v "
                "where excluded.t >= online_features.t or excluded.s != online_features.s",
                [(v.entity, v.micros, v.feature_set_id, v.pack(now)) for v in vectors],
            )
            return db.total_changes - before

    def get(self, entity: str) -> FeatureVector | None:
        if not Path(self.path).exists():
            return None
        try:
            found = _sqlite_reader(self.path).execute(
                "select v from online_features where entity = ?", (entity,)
            )
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None  # nothing written yet
            raise
        row = found.fetchone()
        return FeatureVector.unpack(row[0]) if row else None

    def location(self) -> str:
        return self.path
