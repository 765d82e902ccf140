"""The server-side cache: fragments, data, and tag and path generations.

Invalidation never scans keys. Every tag and every page path has a generation
counter stored in the same backend, and each cached entry's key contains the
generations it depends on. Revalidating a tag bumps its generation, so every
worker computes new keys on its next request and the old entries are never
read again; their TTL removes them.

A backend that goes away (Redis stopped, network cut) does not take the site
with it: reads miss, so pages render fresh; writes and generation bumps are
skipped and logged. A bump lost that way is healed by the entries' TTL
(``SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT``). Only :meth:`ActionCache.add`, which
guards one-time submission keys, raises (:class:`CacheUnavailable`, answered
503 with the input kept): a key that cannot be recorded must not be taken as new.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import typing as t

from flask import current_app

from .compat import cachelib_timeout
from .errors import CacheUnavailable
from .stores import MemoryStore
from .stores import SqliteStore
from .stores import Store

#: The backends ``SERVER_ACTIONS_CACHE`` can name ("filesystem" is "sqlite").
CacheBackend = t.Literal["memory", "sqlite", "filesystem", "redis"]
#: The SQLite cache's file, in ``SERVER_ACTIONS_CACHE_DIR``.
CACHE_FILE: t.Final = "cache.sqlite"

logger = logging.getLogger("flask_server_actions")


#: What :class:`ActionCache` keeps its entries in.
Backend = Store


class ActionCache:
    """A store for fragments and data, plus the generation counters of tags and paths.

    :param backend: a :class:`~flask_server_actions.stores.MemoryStore`,
        :class:`~flask_server_actions.stores.SqliteStore`, or any
        :class:`cachelib.BaseCache` (Redis).
    :param atomic_inc: whether ``backend.inc`` is atomic across processes
        (the toolkit's stores, Redis). Otherwise a bump writes a fresh random
        generation instead, so two workers bumping at once still both change it.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        backend: Backend,
        *,
        atomic_inc: bool = False,
        outage_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        #: The store the entries are kept in.
        self.backend = backend
        self.atomic_inc = atomic_inc
        #: Errors that mean the backend is unreachable: reads miss, writes are skipped.
        self.outage_errors = outage_errors

    @contextlib.contextmanager
    def _outage(self, what: str) -> t.Iterator[None]:
        try:
            yield
        except self.outage_errors as exc:
            logger.warning("Cache unavailable, %s skipped: %s", what, exc)
            raise _Skipped from exc

    def get(self, key: str) -> t.Any:
        """The value at ``key``, or ``None`` (also when the backend is unreachable)."""
        try:
            with self._outage("read"):
                return self.backend.get(key)
        except _Skipped:
            return None

    def set(self, key: str, value: t.Any, timeout: int | None = None) -> bool:
        """Store ``value``; ``timeout`` in seconds, ``0`` for never, ``None`` for the default."""
        try:
            with self._outage("write"):
                return bool(self.backend.set(key, value, timeout=timeout))
        except _Skipped:
            return False

    def add(self, key: str, value: t.Any, timeout: int | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent; ``False`` if it was there.

        Atomic on every backend, so it can guard one-time submission keys. An
        unreachable backend raises :class:`CacheUnavailable` (a 503 for an
        action): a key that cannot be recorded must not pass as new.
        """
        try:
            return bool(self.backend.add(key, value, timeout=timeout))
        except self.outage_errors as exc:
            raise CacheUnavailable(str(exc)) from exc

    def inc(self, key: str, delta: int = 1) -> int | None:
        """Add ``delta`` to the integer at ``key`` (atomic on Redis only)."""
        try:
            with self._outage("increment"):
                value = self.backend.inc(key, delta)
        except _Skipped:
            return None
        return None if value is None else int(value)

    def delete(self, key: str) -> bool:
        """Remove ``key``; ``False`` if it was not there."""
        try:
            with self._outage("delete"):
                return bool(self.backend.delete(key))
        except _Skipped:
            return False

    def generations(
        self, tags: t.Iterable[str] = (), path: str | None = None
    ) -> list[int]:
        """The current generations of ``tags`` and of the page ``path``."""
        keys = [_generation_key("tag", tag) for tag in sorted(set(tags))]
        if path is not None:
            keys.append(_generation_key("path", path))
        if not keys:
            return []
        try:
            with self._outage("generation read"):
                found = self.backend.get_many(*keys)
        except _Skipped:
            # Generations nobody stored under: the caller misses and renders fresh.
            return [secrets.randbits(62) for _ in keys]
        # A tag never revalidated is at 0. Reading writes nothing, so pages at
        # any number of paths add no entries: only revalidations do.
        return [int(v) if v is not None else 0 for v in found]

    def generations_and(
        self, key: str, tags: t.Iterable[str] = (), path: str | None = None
    ) -> tuple[list[int], t.Any]:
        """The generations of ``tags`` and ``path``, and the entry ``key``: one read.

        For an entry kept under a key that does not hold the generations (a
        cached region stores them beside its markup), so a hit costs one round
        trip to the backend rather than two.
        """
        keys = [_generation_key("tag", tag) for tag in sorted(set(tags))]
        if path is not None:
            keys.append(_generation_key("path", path))
        try:
            with self._outage("read"):
                *found, entry = self.backend.get_many(*keys, key)
        except _Skipped:
            return [secrets.randbits(62) for _ in keys], None
        return [int(v) if v is not None else 0 for v in found], entry

    def bump(self, kind: t.Literal["tag", "path"], name: str) -> None:
        """Make every entry stored under the tag or path ``name`` unreachable."""
        key = _generation_key(kind, name)
        try:
            with self._outage(f"revalidation of {kind} {name!r}"):
                if self.atomic_inc:
                    self.backend.inc(key)
                else:
                    self.backend.set(key, secrets.randbits(62), timeout=0)
        except _Skipped:
            pass

    def key_for(self, kind: str, *parts: t.Any) -> str:
        """A short backend key for ``parts`` (anything JSON can hold, else its repr)."""
        raw = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
        return f"{kind}:{hashlib.sha256(raw.encode()).hexdigest()}"


class _Skipped(Exception):
    """The backend was unreachable; the operation was skipped (and logged)."""


def _generation_key(kind: str, name: str) -> str:
    return f"gen:{kind}:{name}"


def create_cache(
    kind: str,
    *,
    default_timeout: int = 300,
    directory: str | None = None,
    redis_url: str | None = None,
    key_prefix: str = "sa:",
    max_entries: int = 10_000,
) -> ActionCache:
    """The cache ``SERVER_ACTIONS_CACHE`` names.

    ``memory``: this process only, at most ``max_entries`` fragments and data
    (the least recently used go first; generations are never evicted).
    ``sqlite`` (or ``filesystem``): one file in ``directory`` that every worker
    of the machine shares. ``redis``: every worker of every machine.
    """
    if kind == "memory":
        return ActionCache(
            MemoryStore(default_timeout, max_entries=max_entries), atomic_inc=True
        )
    if kind in ("sqlite", "filesystem"):
        if not directory:
            raise ValueError("An SQLite cache needs a directory.")
        store = SqliteStore(os.path.join(directory, CACHE_FILE), default_timeout)
        return ActionCache(
            store, atomic_inc=True, outage_errors=(sqlite3.OperationalError,)
        )
    if kind == "redis":
        if not redis_url:
            raise RuntimeError(
                "SERVER_ACTIONS_CACHE is 'redis' but SERVER_ACTIONS_REDIS_URL is not set."
            )
        return _redis_cache(redis_url, key_prefix, default_timeout)
    raise ValueError(
        f"SERVER_ACTIONS_CACHE must be 'memory', 'sqlite' or 'redis', not {kind!r}."
    )


def _redis_cache(url: str, key_prefix: str, default_timeout: int) -> ActionCache:
    # redis is an optional dependency (the "redis" extra): imported only when asked for.
    import redis
    from cachelib import RedisCache

    # Short timeouts: a Redis that has gone away must not hang requests.
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)

    class AtomicAddRedisCache(RedisCache):
        """cachelib's, with ``add`` as one ``SET … NX EX`` (one round trip).

        cachelib sends ``SETNX``, then ``EXPIRE``: a worker killed between the
        two would leave a submission key's claim that never expires.
        """

        def add(self, key: str, value: t.Any, timeout: t.Any = None) -> bool:
            seconds = cachelib_timeout(self, timeout)
            name, dump = key_prefix + key, self.serializer.dumps(value)
            if seconds == -1:
                return bool(client.set(name, dump, nx=True))
            if seconds < 0:  # already expired, as in cachelib: kept a moment only
                return bool(client.set(name, dump, nx=True, px=1))
            return bool(client.set(name, dump, nx=True, ex=seconds))

    backend = AtomicAddRedisCache(
        host=client, key_prefix=key_prefix, default_timeout=default_timeout
    )
    return ActionCache(
        backend,
        atomic_inc=True,
        outage_errors=(
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        ),
    )


def current_cache() -> ActionCache:
    """The current app's :class:`ActionCache`.

    .. versionadded:: 0.1
    """
    installed = current_app.extensions.get("server_actions")
    cache = getattr(installed, "cache", None)
    if not isinstance(cache, ActionCache):
        raise RuntimeError(
            "No server actions cache on this app; call ServerActions(app) first."
        )
    return cache
