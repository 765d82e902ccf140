"""The live event log: "tag or path X has a new generation", and nothing else.

A revalidation publishes one event naming the topics it bumped
(``tag:posts``, ``path:/blog``). Events carry no data: a browser that hears one
fetches the affected regions again with its own cookies, so what it is shown is
what the page view would show that user.

Where the events go depends on the cache (and so on how the app is deployed):

==========  =================================================================
``memory``  this process only (``flask run``, one worker)
``sqlite``  one SQLite file beside the cache, which every worker of the machine
            shares. Each process has one thread that polls the newest event id
            (one indexed read, every ``poll`` seconds) and wakes its streams:
            SQLite has no notification, and watching a file's mtime is not
            portable, while a read of one integer is cheap enough at 4 Hz.
``redis``   a capped Redis list for replay, plus pub/sub to wake every worker of
            every machine at once; one listener thread per process.
==========  =================================================================

Nothing is stored until someone listens: a page that renders a live region, or
a live stream, calls :meth:`EventLog.listen` first (for SQLite, a marker file
beside the log tells every worker), so a site without live regions pays nothing
for them: no write per action, no file, no thread. A page rendered before the
first listen may show data older than an event that was not stored: if an
action skipped one in the minute before, then for ``LISTEN_GRACE`` seconds
after it pages are told to refetch their live regions once when they connect
(see :meth:`EventLog.in_grace`).

Each process keeps the last ``keep`` events it saw, so its streams wait on one
:class:`threading.Condition` and read from memory. Event ids are
``"<epoch>.<n>"``: ``n`` counts up in the backend, and ``epoch`` names the log
(a new memory log or a new file starts a new epoch), so an id from another log
is recognised as a gap rather than misread.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import typing as t
import weakref

logger = logging.getLogger("flask_server_actions")

#: The SQLite event log's file, in ``SERVER_ACTIONS_CACHE_DIR``.
EVENTS_FILE: t.Final = "live-events.sqlite"

#: Beside it: it exists once a page or a stream has listened (see ``listen``).
LISTENED_FILE: t.Final = "live-events.listened"
#: Beside it too: its time is when an action last stored no event (nobody listened).
SKIPPED_FILE: t.Final = "live-events.skipped"
#: A worker notes a skipped event at most once a second (one ``utime``).
_NOTE_SKIP_EVERY: t.Final = 1.0

#: For this many seconds after a log is first listened to, live regions and
#: streams start with a refetch if an action stored no event shortly before:
#: it may have changed what a page was reading.
LISTEN_GRACE: t.Final = 60.0

#: An event id of no log: a stream resuming from it refetches at once.
UNKNOWN_ID: t.Final = "0.0"

#: The SQLite log drops its oldest events at every this many new ones.
_TRIM_EVERY: t.Final = 64

#: Every log of this process, so a shutting-down worker can end all its streams.
_LOGS: weakref.WeakSet[EventLog] = weakref.WeakSet()


def stop_all() -> None:
    """End every live stream of this process (see :meth:`EventLog.stop`)."""
    for log in list(_LOGS):
        log.stop()


class Event(t.NamedTuple):
    """One revalidation: its number, the topics it bumped, the tab that made it."""

    n: int
    topics: tuple[str, ...]
    #: The browser tab whose action made it (``X-SA-Live-Client``), if any.
    origin: str | None


class EventLog:
    """The events of one app, as this process sees them (the memory backend).

    Subclasses change where events are stored and how a process learns of new
    ones; streams only use :meth:`latest`, :meth:`after` and :meth:`wait`.

    :param keep: events kept for replay (per process, and in the backend; the
        SQLite file holds up to 64 more between two trims).
    """

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.epoch = secrets.token_hex(4)
        self._recent: collections.deque[Event] = collections.deque(maxlen=keep)
        self._cond = threading.Condition()
        self._n = 0
        #: Set when the process shuts down: every stream ends.
        self.stopping = threading.Event()
        #: Someone listens (this process knows): publishing stores events.
        self._listened = False
        #: This process reads the log (and has said so).
        self._reading = False
        #: Since when events are stored (0: always, as far as anyone can tell).
        self.stored_since = 0.0
        #: When this process last published while nobody listened.
        self._skipped_at = 0.0
        _LOGS.add(self)

    # -- listening ---------------------------------------------------------------

    def listen(self) -> None:
        """Say that someone reads this log: from now on, :meth:`publish` stores events.

        Every reader calls it first (:meth:`latest`, :meth:`after`,
        :meth:`wait`, :meth:`parse`), so an app that never renders a live
        region never stores an event.
        """
        if not self._reading:
            self.stored_since = self._mark_listened()
            self._listened = self._reading = True

    def listened(self) -> bool:
        """Whether anyone listens, in this process or (for a shared log) another."""
        return self._listened

    def _mark_listened(self) -> float:
        """Tell every process that someone listens; since when events are stored."""
        return time.time()

    def in_grace(self) -> bool:
        """Whether a page now may show data older than an event that was not stored.

        True for ``LISTEN_GRACE`` seconds after the first listen, if an action
        published while nobody listened during the ``LISTEN_GRACE`` before it.
        """
        since = self.stored_since
        return time.time() < since + LISTEN_GRACE and (
            self._last_skip() >= since - LISTEN_GRACE
        )

    def _note_skip(self) -> None:
        self._skipped_at = time.time()

    def _last_skip(self) -> float:
        """When an action last published while nobody listened (0.0: never)."""
        return self._skipped_at

    # -- writing ---------------------------------------------------------------

    def publish(
        self, topics: t.Iterable[str], origin: str | None = None
    ) -> Event | None:
        """Record that ``topics`` have a new generation, and wake the streams.

        The event, or ``None`` if there are no topics, nobody listens (see
        :meth:`listen`), or it could not be stored.
        """
        names = tuple(sorted(set(topics)))
        if not names:
            return None
        if not self.listened():
            self._note_skip()
            return None
        return self._store(names, origin)

    def _store(self, topics: tuple[str, ...], origin: str | None) -> Event | None:
        with self._cond:
            self._n += 1
            event = Event(self._n, topics, origin)
            self._add(event)
        return event

    def _add(self, event: Event) -> None:
        """Keep ``event`` in this process and wake the streams (holding the lock)."""
        if self._recent and event.n <= self._recent[-1].n:
            return
        self._recent.append(event)
        self._n = max(self._n, event.n)
        self._cond.notify_all()

    # -- reading ---------------------------------------------------------------

    def latest(self, at_least: int = 0) -> str:
        """The id of the newest event (``"<epoch>.0"`` before any).

        ``at_least``: the number of an event this request published, which this
        process may not have taken in yet (see :meth:`_Watched._store`).
        """
        self.listen()
        self._start()
        return f"{self.epoch}.{max(self._newest(), at_least)}"

    def cursor(self, at_least: int = 0) -> str:
        """The id a live region rendered now carries (``data-sa-live-since``).

        :meth:`latest`, except just after the log was first listened to
        (:meth:`in_grace`): then an id of no log, so the page's stream starts
        with a refetch of its live regions.
        """
        newest = self.latest(at_least)
        return UNKNOWN_ID if self.in_grace() else newest

    def _newest(self) -> int:
        return self._n

    def parse(self, event_id: str | None) -> int | None:
        """The number in ``event_id`` if it is from this log, else ``None``."""
        self.listen()
        epoch, _, n = (event_id or "").partition(".")
        if epoch != self.epoch or not n.isdigit():
            return None
        return int(n)

    def after(self, n: int) -> list[Event] | None:
        """The events after number ``n``, or ``None`` if some are no longer kept."""
        self.listen()
        self._start()
        with self._cond:
            found = self._after_locked(n)
        if found is None:
            return self._replay(n)
        return found

    def _after_locked(self, n: int) -> list[Event] | None:
        if n > self._n:
            return None  # from the future: another log under the same epoch
        if n == self._n:
            return []
        if not self._recent or self._recent[0].n > n + 1:
            return None
        return [e for e in self._recent if e.n > n]

    def _replay(self, n: int) -> list[Event] | None:  # noqa: ARG002 - for subclasses
        """Events after ``n`` from the backend, when this process no longer has them.

        A log of one process has no backend: what it no longer keeps is gone.
        """
        return None

    def wait(self, n: int, timeout: float) -> list[Event] | None:
        """Block until there are events after ``n`` (or ``timeout``); see :meth:`after`."""
        self.listen()
        self._start()
        with self._cond:
            self._cond.wait_for(
                lambda: self._n > n or self.stopping.is_set(), timeout=timeout
            )
            found = self._after_locked(n)
        return found if found is not None else self._replay(n)

    def stop(self) -> None:
        """End every stream of this process (the worker shuts down)."""
        self.stopping.set()
        with self._cond:
            self._cond.notify_all()

    def _start(self) -> None:
        """Start what this process needs to hear other processes' events."""


class _Watched(EventLog):
    """A log shared between processes: one thread per process brings new events in."""

    poll = 0.25
    #: What the backend raises when it is away (logged, retried).
    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)

    def __init__(self, keep: int = 1000) -> None:
        super().__init__(keep)
        self._pid: int | None = None
        self._start_lock = threading.Lock()

    def listened(self) -> bool:
        if not self._listened:
            since = self._listened_elsewhere()
            if since:
                self.stored_since, self._listened = since, True
        return self._listened

    def _listened_elsewhere(self) -> float:
        """When another process first listened, or 0.0 if none has yet."""
        return 0.0

    def _start(self) -> None:
        """Start this process's thread, which only readers need."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            # After a fork the parent's thread is gone: start this process's own.
            self._cond = threading.Condition()
            self._recent.clear()
            self._n = self._read_newest()
            threading.Thread(
                target=self._watch, name="server-actions-live", daemon=True
            ).start()
            self._pid = os.getpid()  # last: a publisher may take events in now

    def _store(self, topics: tuple[str, ...], origin: str | None) -> Event | None:
        event = self._append(topics, origin)
        # A process with no reader has no thread and keeps nothing: its first
        # reader reads the newest number from the backend.
        if event is not None and self._pid == os.getpid():
            with self._cond:
                # If other processes' events came first, this one waits for
                # them: the thread reads them all within ``poll`` seconds, or at
                # once if the backend announces them. Reading them here would
                # cost nearly every action a read when several workers write.
                self._take_if_next_locked(event)
        return event

    def _take_if_next_locked(self, event: Event) -> bool:
        """Keep ``event`` if it is the next one this process expects."""
        if event.n != self._n + 1:
            return False
        self._add(event)  # the next one: nothing to read
        return True

    def _take_locked(self, event: Event) -> None:
        """Keep ``event``; read what came before it only if this process lacks it."""
        if not self._take_if_next_locked(event):
            self._catch_up_locked(event.n)

    def _catch_up_locked(self, newest: int) -> None:
        if newest <= self._n:
            return
        missed = self._read_after(self._n)
        if missed is None:  # more events than the log keeps: the streams refetch
            self._recent.clear()  # what is kept must have no holes
            missed = self._read_after(newest - 1) or []
        for event in missed:
            self._add(event)
        if self._recent and self._recent[-1].n < newest:
            # The backend could not give every event up to the newest: keep no
            # hole that ``_after_locked`` would not see; streams refetch.
            self._recent.clear()
        self._n = max(self._n, newest)
        self._cond.notify_all()

    def _replay(self, n: int) -> list[Event] | None:
        if n > self._read_newest():
            return None
        return self._read_after(n)

    def _watch(self) -> None:
        while not self.stopping.is_set():
            try:
                newest = self._wait_for_news()
            except self.errors as exc:  # the backend is away: try again soon
                logger.warning("Live events unavailable: %s", exc)
                self.stopping.wait(1.0)
                continue
            if isinstance(newest, Event):
                with self._cond:
                    if newest.n > self._n:
                        self._take_locked(newest)
            elif newest is not None and newest > self._n:
                with self._cond:
                    self._catch_up_locked(newest)

    # -- what each backend does -------------------------------------------------

    def _append(self, topics: tuple[str, ...], origin: str | None) -> Event | None:
        raise NotImplementedError

    def _read_newest(self) -> int:
        raise NotImplementedError

    def _read_after(self, n: int) -> list[Event] | None:
        raise NotImplementedError

    def _wait_for_news(self) -> int | Event | None:
        """The newest event's number, or the newest event itself when the backend
        says which (then nothing needs reading), or ``None``."""
        raise NotImplementedError


class SqliteEventLog(_Watched):
    """Events in one SQLite file that every worker of the machine shares."""

    def __init__(self, path: str, keep: int = 1000) -> None:
        super().__init__(keep)
        self.path = path
        folder = os.path.dirname(path) or "."
        os.makedirs(folder, exist_ok=True)
        #: Made by the first reader of any process; publishers look for it.
        self.marker = os.path.join(folder, LISTENED_FILE)
        #: Touched by publishers while there is no marker (see ``in_grace``).
        self.skipped = os.path.join(folder, SKIPPED_FILE)
        self._local = threading.local()

    def _mark_listened(self) -> float:
        db = self._db()
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS events (n INTEGER PRIMARY KEY"
                " AUTOINCREMENT, topics TEXT NOT NULL, origin TEXT)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)"
            )
            db.execute("INSERT OR IGNORE INTO meta VALUES ('epoch', ?)", (self.epoch,))
        row = db.execute("SELECT v FROM meta WHERE k = 'epoch'").fetchone()
        self.epoch = str(row[0])
        # After the tables: a publisher that sees the marker can write at once.
        # An existing marker keeps its time: events are stored since then.
        _create(self.marker)
        return self._listened_elsewhere()

    def _listened_elsewhere(self) -> float:
        # One stat per action until a reader comes: cheaper than any write.
        return _mtime(self.marker)

    def _note_skip(self) -> None:
        now = time.time()
        if now < self._skipped_at + _NOTE_SKIP_EVERY:
            return
        self._skipped_at = now
        try:
            try:
                os.utime(self.skipped)
            except FileNotFoundError:
                _create(self.skipped)
        except OSError as exc:  # pages may then miss a refetch: only logged
            logger.warning("Live events: could not note a skipped event: %s", exc)

    def _last_skip(self) -> float:
        return max(self._skipped_at, _mtime(self.skipped))

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # As the cache's own file: no fsync per event. A crash may lose the
            # newest events, and a page that missed one refetches on its gap.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-256")  # as the stores': a few rows read
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def _append(self, topics: tuple[str, ...], origin: str | None) -> Event | None:
        db = self._db()
        try:
            # One statement, one commit: an action's publish is one write.
            cur = db.execute(
                "INSERT INTO events (topics, origin) VALUES (?, ?)",
                (" ".join(topics), origin),
            )
        except sqlite3.Error as exc:
            # Like a generation bump the cache could not store: logged, and the
            # browsers see the change on their next load.
            logger.warning("Live event not published: %s", exc)
            return None
        n = int(cur.lastrowid or 0)
        if n % _TRIM_EVERY == 0:
            # The log keeps between ``keep`` and ``keep + _TRIM_EVERY`` events.
            try:
                db.execute("DELETE FROM events WHERE n <= ?", (n - self.keep,))
            except sqlite3.Error as exc:  # the next trim catches up
                logger.warning("Old live events not trimmed: %s", exc)
        return Event(n, topics, origin)

    def _read_newest(self) -> int:
        row = self._db().execute("SELECT max(n) FROM events").fetchone()
        if row[0] is None:
            # An empty table still remembers its last number.
            seq = (
                self._db()
                .execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
                .fetchone()
            )
            return int(seq[0]) if seq else 0
        return int(row[0])

    def _read_after(self, n: int) -> list[Event] | None:
        rows = (
            self._db()
            .execute(
                "SELECT n, topics, origin FROM events WHERE n > ? ORDER BY n", (n,)
            )
            .fetchall()
        )
        if rows and rows[0][0] != n + 1:
            return None
        return [Event(int(r[0]), tuple(r[1].split()), r[2]) for r in rows]

    def _wait_for_news(self) -> int | None:
        self.stopping.wait(self.poll)
        return self._read_newest()


class RedisEventLog(_Watched):
    """Events in a capped Redis list, announced on a pub/sub channel."""

    def __init__(
        self,
        client: t.Any,
        prefix: str = "sa:",
        keep: int = 1000,
        errors: tuple[type[Exception], ...] = (OSError,),
    ) -> None:
        super().__init__(keep)
        self.errors = errors
        self.client = client
        self.prefix = f"{prefix}live:"
        self._pubsub: t.Any = None
        self._publish: t.Any = None
        # Always stored: publishing is one round trip, and asking first whether
        # anyone listens would be another (and workers of the previous release
        # would not say that they do).
        self._listened = True
        try:
            self.client.set(f"{self.prefix}epoch", self.epoch, nx=True)
            found = self.client.get(f"{self.prefix}epoch")
            if found is not None:
                self.epoch = found.decode() if isinstance(found, bytes) else str(found)
        except self.errors as exc:  # Redis is away at start: the site still starts
            logger.warning("Live events: Redis unavailable at start: %s", exc)

    def _mark_listened(self) -> float:
        return 0.0  # stored all along: no page needs to refetch

    def _append(self, topics: tuple[str, ...], origin: str | None) -> Event | None:
        try:
            if self._publish is None:
                self._publish = self.client.register_script(_PUBLISH)
            n = int(
                self._publish(
                    keys=[
                        f"{self.prefix}n",
                        f"{self.prefix}log",
                        f"{self.prefix}events",
                        f"{self.prefix}news",
                    ],
                    args=[
                        json.dumps(list(topics), separators=(",", ":")),
                        json.dumps(origin),
                        self.keep,
                    ],
                )
            )
        except self.errors as exc:
            logger.warning("Live event not published: %s", exc)
            return None
        return Event(n, topics, origin)

    def _read_newest(self) -> int:
        try:
            found = self.client.get(f"{self.prefix}n")
        except self.errors as exc:
            logger.warning("Live events: Redis unavailable: %s", exc)
            return self._n
        return int(found or 0)

    def _read_after(self, n: int) -> list[Event] | None:
        try:
            # Only the tail this reader lacks, not the whole list, per event.
            found = self.client.get(f"{self.prefix}n")
            missing = int(found or 0) - n
            if missing <= 0:
                return []
            records = self.client.lrange(
                f"{self.prefix}log", -min(missing, self.keep), -1
            )
        except self.errors as exc:
            logger.warning("Live events: Redis unavailable: %s", exc)
            return None
        events = []
        for record in records:
            number, topics, origin = json.loads(record)
            if number > n:
                events.append(Event(int(number), tuple(topics), origin))
        if not events or events[0].n != n + 1:
            return None  # the list lacks some (evicted, or not kept): a gap
        return events

    def _wait_for_news(self) -> int | Event | None:
        if self._pubsub is None:
            self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            # Records on "events"; their numbers on "news", which is all that
            # workers of the previous release listen to.
            self._pubsub.subscribe(f"{self.prefix}events", f"{self.prefix}news")
            # Anything published while we were not listening.
            return self._read_newest()
        try:
            message = self._pubsub.get_message(timeout=1.0)
        except Exception:
            self._pubsub = None
            raise
        if message is None:
            return None
        return _news(message["data"])


#: One round trip per event: number it, keep it (capped), announce it. The
#: announcement is the event itself, so listeners need not read the list; its
#: number goes out too, on the channel older workers listen to.
_PUBLISH: t.Final = """
local n = redis.call('INCR', KEYS[1])
local record = '[' .. n .. ',' .. ARGV[1] .. ',' .. ARGV[2] .. ']'
redis.call('RPUSH', KEYS[2], record)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('PUBLISH', KEYS[3], record)
redis.call('PUBLISH', KEYS[4], n)
return n
"""


def _news(data: bytes | str) -> int | Event | None:
    """An announcement: the event's record, or (from an older worker) its number;
    ``None`` for anything else, which the listener ignores."""
    try:
        found = json.loads(data)
        if isinstance(found, list):
            number, topics, origin = found
            return Event(int(number), tuple(str(topic) for topic in topics), origin)
        return int(found)
    except (ValueError, TypeError) as exc:
        logger.warning("Live events: ignored an announcement %r: %s", data[:80], exc)
        return None


def _create(path: str) -> None:
    """Make ``path`` if it is missing; an existing file is left as it is."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def _mtime(path: str) -> float:
    """The modification time of ``path``, or 0.0 if there is no such file."""
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def create_event_log(
    kind: str,
    *,
    directory: str | None = None,
    redis_url: str | None = None,
    prefix: str = "sa:",
    keep: int = 1000,
) -> EventLog:
    """The event log that goes with the cache ``kind`` (see the module docs)."""
    if kind == "redis":
        # redis is an optional dependency (the "redis" extra).
        import redis

        if not redis_url:
            raise RuntimeError("A Redis event log needs SERVER_ACTIONS_REDIS_URL.")
        client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=1, socket_timeout=5
        )
        return RedisEventLog(
            client, prefix, keep, errors=(redis.exceptions.RedisError, OSError)
        )
    if kind == "sqlite":
        if not directory:
            raise ValueError("An SQLite event log needs a directory.")
        return SqliteEventLog(os.path.join(directory, EVENTS_FILE), keep)
    return EventLog(keep)
