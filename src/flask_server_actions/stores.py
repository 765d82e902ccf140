"""Key-value stores the toolkit keeps its own state in: memory and SQLite.

Both speak the subset of cachelib's API the toolkit uses (``get``, ``get_many``,
``set``, ``add``, ``delete``, ``inc``), so Redis (cachelib's ``RedisCache``) fits
beside them. Unlike cachelib's ``SimpleCache`` and ``FileSystemCache``, they
never drop an entry before its time to make room, and never sort the store:

- an entry is evicted early only from a store made for it (``evict=True``, the
  fragment and data cache): the least recently used one, in constant time;
- a store that must not lose entries (``evict=False``, the submission ledger)
  refuses a new one when full (:class:`StoreFull`, a 503), it never forgets;
- counters (``inc``: tag and path generations) are never evicted at all.

:class:`SqliteStore` is one file that every worker of a machine shares; SQLite's
locking makes ``add`` and ``inc`` atomic between processes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
import threading
import time
import typing as t
from collections import OrderedDict

#: Seconds between two sweeps of expired entries.
_SWEEP_EVERY: t.Final = 60.0
#: Each SQLite connection's page cache (KiB).
_PAGE_CACHE_KIB: t.Final = 256


class Store(t.Protocol):
    """What the toolkit needs of a store: these stores, or cachelib's ``RedisCache``."""

    def get(self, key: str) -> t.Any: ...

    def get_many(self, *keys: str) -> list[t.Any]: ...

    def set(self, key: str, value: t.Any, timeout: int | None = None) -> t.Any: ...

    def add(self, key: str, value: t.Any, timeout: int | None = None) -> t.Any: ...

    def delete(self, key: str) -> t.Any: ...

    def inc(self, key: str, delta: int = 1) -> t.Any: ...


class StoreFull(Exception):
    """A store that must not lose entries has no room for a new one."""


def _dumps(value: t.Any) -> t.Any:
    # Strings (rendered fragments) are kept as they are; anything else is
    # pickled, so a caller changing its object later does not change the cache.
    return value if type(value) is str else pickle.dumps(value)


def _loads(value: t.Any) -> t.Any:
    return pickle.loads(value) if type(value) is bytes else value


class MemoryStore:
    """A store in one process's memory, safe between its threads.

    :param default_timeout: seconds an entry lives when ``set`` gives ``None``.
    :param max_entries: how many entries it holds at most (counters apart).
    :param evict: make room by dropping the least recently used entry (a
        cache); ``False`` raises :class:`StoreFull` instead (a ledger).
    """

    def __init__(
        self,
        default_timeout: int = 300,
        *,
        max_entries: int = 10_000,
        evict: bool = True,
    ) -> None:
        self.default_timeout = default_timeout
        self.max_entries = max_entries
        self.evict = evict
        self._entries: OrderedDict[str, tuple[float, t.Any]] = OrderedDict()
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + _SWEEP_EVERY

    def _expires(self, timeout: int | None) -> float:
        seconds = self.default_timeout if timeout is None else timeout
        return 0.0 if seconds == 0 else time.time() + seconds

    def _live(self, key: str, now: float) -> tuple[float, t.Any] | None:
        item = self._entries.get(key)
        if item is None:
            return None
        if item[0] and item[0] <= now:
            del self._entries[key]
            return None
        return item

    def _sweep(self, now: float) -> None:
        self._next_sweep = time.monotonic() + _SWEEP_EVERY
        expired = [k for k, (ends, _) in self._entries.items() if ends and ends <= now]
        for key in expired:
            del self._entries[key]

    def _make_room(self, now: float) -> None:
        if len(self._entries) < self.max_entries:
            return
        self._sweep(now)
        if len(self._entries) < self.max_entries:
            return
        if not self.evict:
            raise StoreFull(f"The store holds its limit of {self.max_entries} entries.")
        self._entries.popitem(last=False)

    def _put(self, key: str, value: t.Any, timeout: int | None, now: float) -> None:
        if key not in self._entries:
            self._make_room(now)
        self._entries[key] = (self._expires(timeout), _dumps(value))
        self._entries.move_to_end(key)
        if time.monotonic() >= self._next_sweep:
            self._sweep(now)

    def get(self, key: str) -> t.Any:
        with self._lock:
            item = self._live(key, time.time())
            if item is None:
                return self._counters.get(key)
            self._entries.move_to_end(key)
            return _loads(item[1])

    def get_many(self, *keys: str) -> list[t.Any]:
        return [self.get(key) for key in keys]

    def set(self, key: str, value: t.Any, timeout: int | None = None) -> bool:
        with self._lock:
            self._put(key, value, timeout, time.time())
        return True

    def add(self, key: str, value: t.Any, timeout: int | None = None) -> bool:
        with self._lock:
            now = time.time()
            if self._live(key, now) is not None:
                return False
            self._put(key, value, timeout, now)
        return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._entries.pop(key, None) is not None

    def inc(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to the counter ``key`` (created at 0); counters never expire."""
        with self._lock:
            value = self._counters.get(key, 0) + delta
            self._counters[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)


class SqliteStore:
    """A store in one SQLite file, shared by every process of a machine.

    Each thread of each process opens its own connection (SQLite connections
    must not cross a ``fork``). The file is in WAL mode: readers never wait for
    a writer, and a commit does not wait for the disk.

    :param path: the file; its folder is created if missing.
    :param default_timeout: seconds an entry lives when ``set`` gives ``None``.
    """

    def __init__(
        self, path: str | os.PathLike[str], default_timeout: int = 300
    ) -> None:
        self.path = os.fspath(path)
        self.default_timeout = default_timeout
        self._local = threading.local()
        self._next_sweep = 0.0
        # Fail now, at start, if the file cannot be made: not at the first request.
        self._connection()

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():
            folder = os.path.dirname(self.path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            # SQLite's default page cache (2 MiB per connection, and there is
            # one per worker thread) buys nothing for single-key reads and
            # writes of a file the OS keeps cached anyway.
            connection.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY,"
                " value BLOB, expires REAL NOT NULL) WITHOUT ROWID"
            )
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY,"
                " value INTEGER NOT NULL) WITHOUT ROWID"
            )
            local.connection, local.pid = connection, os.getpid()
        return connection

    def _expires(self, timeout: int | None) -> float:
        seconds = self.default_timeout if timeout is None else timeout
        return 0.0 if seconds == 0 else time.time() + seconds

    def _sweep(self, connection: sqlite3.Connection, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY
        connection.execute(
            "DELETE FROM entries WHERE expires != 0 AND expires <= ?", (now,)
        )

    def get(self, key: str) -> t.Any:
        return self.get_many(key)[0]

    def get_many(self, *keys: str) -> list[t.Any]:
        if not keys:
            return []
        connection = self._connection()
        marks = ",".join("?" * len(keys))
        now = time.time()
        counters: dict[str, t.Any] = {}
        entries: dict[str, t.Any] = {}
        # One statement for both tables: a region's lookup is one round trip.
        for key, value, expires, is_counter in connection.execute(
            f"SELECT key, value, NULL, 1 FROM counters WHERE key IN ({marks})"
            f" UNION ALL"
            f" SELECT key, value, expires, 0 FROM entries WHERE key IN ({marks})",
            keys + keys,
        ):
            if is_counter:
                counters[key] = value
            elif not expires or expires > now:
                entries[key] = _loads(value)
        return [entries.get(key, counters.get(key)) for key in keys]

    def set(self, key: str, value: t.Any, timeout: int | None = None) -> bool:
        connection = self._connection()
        connection.execute(
            "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
            (key, _dumps(value), self._expires(timeout)),
        )
        self._sweep(connection, time.time())
        return True

    def add(self, key: str, value: t.Any, timeout: int | None = None) -> bool:
        """Store ``value`` unless a live entry has ``key``: one atomic statement."""
        connection = self._connection()
        now = time.time()
        cursor = connection.execute(
            "INSERT INTO entries (key, value, expires) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " expires = excluded.expires"
            " WHERE entries.expires != 0 AND entries.expires <= ?",
            (key, _dumps(value), self._expires(timeout), now),
        )
        return cursor.rowcount == 1

    def delete(self, key: str) -> bool:
        cursor = self._connection().execute("DELETE FROM entries WHERE key = ?", (key,))
        return cursor.rowcount == 1

    def inc(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to the counter ``key`` (created at 0); counters never expire."""
        (value,) = (
            self._connection()
            .execute(
                "INSERT INTO counters (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = value + excluded.value"
                " RETURNING value",
                (key, delta),
            )
            .fetchone()
        )
        return int(value)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()
            self._local.connection = None
