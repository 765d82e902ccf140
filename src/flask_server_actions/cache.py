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
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import struct
import tempfile
import typing as t

from cachelib import BaseCache
from cachelib import FileSystemCache
from cachelib import RedisCache
from cachelib import SimpleCache
from flask import current_app

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

#: The backends ``SERVER_ACTIONS_CACHE`` can name.
CacheBackend = t.Literal["memory", "filesystem", "redis"]

logger = logging.getLogger("flask_server_actions")

#: Where each app's :class:`ActionCache` is kept.
EXTENSION_KEY: t.Final = "server_actions_cache"


class _AtomicFileSystemCache(FileSystemCache):
    """cachelib's file cache with an ``add`` that two processes cannot both win.

    cachelib checks that the file is missing and then writes it, so two workers
    can both "add" the same key. Here the entry is written to a temporary file
    and hard-linked into place; ``os.link`` fails if the name exists.
    """

    def add(
        self, key: str, value: t.Any, timeout: int | dt.timedelta | None = None
    ) -> bool:
        # get() deletes an expired entry, so its key can be added again.
        if self.get(key) is not None:
            return False
        self._prune()
        filename = self._get_filename(key)
        fd, tmp = tempfile.mkstemp(suffix=self._fs_transaction_suffix, dir=self._path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(struct.pack("I", self._normalize_timeout(timeout)))
                self.serializer.dump(value, f)
            os.link(tmp, filename)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._update_count(delta=1)
        return True


class ActionCache:
    """A cachelib backend plus the generation counters of tags and paths.

    :param backend: any :class:`cachelib.BaseCache`.
    :param atomic_inc: whether ``backend.inc`` is atomic across processes
        (Redis). Otherwise a bump writes a fresh random generation instead, so
        two workers bumping at once still both change it.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        backend: BaseCache,
        *,
        atomic_inc: bool = False,
        outage_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        #: The cachelib backend; values are pickled by it.
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
                found = list(self.backend.get_many(*keys))
                for i, value in enumerate(found):
                    if value is None:
                        found[i] = self._start_generation(keys[i])
        except _Skipped:
            # Generations nobody stored under: the caller misses and renders fresh.
            return [secrets.randbits(62) for _ in keys]
        return [int(v) for v in found]

    def _start_generation(self, key: str) -> int:
        # A random start, not 0: a counter that was evicted and starts again
        # must not reach a number that old entries were stored under.
        self.backend.add(key, secrets.randbits(62), timeout=0)
        value = self.backend.get(key)
        return int(value) if value is not None else 0

    def bump(self, kind: t.Literal["tag", "path"], name: str) -> None:
        """Make every entry stored under the tag or path ``name`` unreachable."""
        key = _generation_key(kind, name)
        try:
            with self._outage(f"revalidation of {kind} {name!r}"):
                if self.atomic_inc:
                    if self.backend.get(key) is None:
                        self._start_generation(key)
                    self.backend.inc(key)
                else:
                    self.backend.set(key, secrets.randbits(62), timeout=0)
        except _Skipped:
            pass

    def key_for(self, kind: str, *parts: t.Any) -> str:
        """A short backend key for ``parts`` (anything JSON can hold, else its repr)."""
        raw = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
        return f"{kind}:{hashlib.sha256(raw.encode()).hexdigest()}"


class CacheUnavailable(Exception):
    """The cache backend did not answer an operation that cannot be skipped.

    .. versionadded:: 0.1
    """


class _Skipped(Exception):
    """The backend was unreachable; the operation was skipped (and logged)."""


def _generation_key(kind: str, name: str) -> str:
    return f"gen:{kind}:{name}"


def create_cache(app: Flask) -> ActionCache:
    """The cache ``app``'s config asks for (``SERVER_ACTIONS_CACHE``)."""
    config = app.config
    kind = config["SERVER_ACTIONS_CACHE"]
    timeout = int(config["SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT"])
    if kind == "memory":
        return ActionCache(SimpleCache(default_timeout=timeout))
    if kind == "filesystem":
        directory = config["SERVER_ACTIONS_CACHE_DIR"] or os.path.join(
            app.instance_path, "server-actions-cache"
        )
        return ActionCache(_AtomicFileSystemCache(directory, default_timeout=timeout))
    if kind == "redis":
        import redis

        url = config["SERVER_ACTIONS_REDIS_URL"]
        if not url:
            raise RuntimeError(
                "SERVER_ACTIONS_CACHE is 'redis' but SERVER_ACTIONS_REDIS_URL is not set."
            )
        backend = RedisCache(
            # Short timeouts: a Redis that has gone away must not hang requests.
            host=redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1),
            key_prefix=config["SERVER_ACTIONS_CACHE_PREFIX"],
            default_timeout=timeout,
        )
        return ActionCache(
            backend,
            atomic_inc=True,
            outage_errors=(
                redis.exceptions.ConnectionError,
                redis.exceptions.TimeoutError,
            ),
        )
    raise ValueError(
        f"SERVER_ACTIONS_CACHE must be 'memory', 'filesystem' or 'redis', not {kind!r}."
    )


def current_cache() -> ActionCache:
    """The current app's :class:`ActionCache`.

    .. versionadded:: 0.1
    """
    cache: ActionCache | None = current_app.extensions.get(EXTENSION_KEY)
    if cache is None:
        raise RuntimeError(
            "No server actions cache on this app; call ServerActions(app) first."
        )
    return cache
