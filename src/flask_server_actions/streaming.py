"""Stream a result made in chunks: SSE for htmx, NDJSON when asked, else HTML.

One producer (any iterator of chunks) feeds three encodings, chosen by the
request's ``Accept`` header:

=========================  ==========================================================
``text/event-stream``      server-sent events, one unnamed message per chunk, then an
                           ``event: done`` message (htmx 4's ``hx-sse`` swaps each
                           message and closes on ``hx-sse:close="done"``)
``application/x-ndjson``   one JSON object per line per chunk (the seed's ``generateReport``)
anything else              an HTML page rendered while the chunks are made (Jinja's
                           ``stream_template``), for browsers without JavaScript
=========================  ==========================================================

Nothing buffers the body on the way out (``X-Accel-Buffering: no`` asks nginx not
to either), and when the client goes away the WSGI server closes the response: the
producer is closed at its current ``yield`` (``GeneratorExit``) and makes no more
chunks. :data:`stream_closed` reports how far it got.

A stream holds a server thread for as long as it runs, so streams are limited:

=========================================  ===========================================
``SERVER_ACTIONS_STREAMS_PER_USER`` (3)    open streams per caller (user id, else the
                                           client address), counted in the app's cache,
                                           so across every worker that shares it
``SERVER_ACTIONS_STREAMS_PER_PROCESS`` (8) open streams per server process: keep it
                                           below the process's threads, so pages
                                           always find one
``SERVER_ACTIONS_STREAM_TIME_LIMIT`` (120) seconds a stream may run; then the producer
                                           is closed and the stream ends normally
=========================================  ===========================================

``0`` turns a limit off. A stream over a limit is refused before anything runs:
:func:`stream_response` raises :class:`TooManyStreams`, a 429 with a sentence for
people and ``Retry-After``.
"""

from __future__ import annotations

import collections
import json
import logging
import secrets
import threading
import time
import typing as t
import weakref

from blinker import Namespace
from flask import Response
from flask import current_app
from flask import request
from flask import stream_with_context

from .appstate import app_state
from .callers import caller
from .errors import CacheUnavailable
from .errors import TooManyStreams

if t.TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable
    from collections.abc import Iterable
    from collections.abc import Iterator

    from flask import Flask

StreamFormat = t.Literal["sse", "ndjson", "html"]
SSE_TYPE: t.Final = "text/event-stream"
NDJSON_TYPE: t.Final = "application/x-ndjson"
#: The name of the last SSE message, sent once every chunk went out.
SSE_DONE_EVENT: t.Final = "done"

_signals = Namespace()
#: Sent when a stream ends, finished or not: ``sender`` is the app, ``produced``
#: the number of chunks the producer made, ``complete`` whether it ran to its end
#: (``False`` when the client went away first).
stream_closed = _signals.signal("server-actions-stream-closed")

_T = t.TypeVar("_T")

logger = logging.getLogger("flask_server_actions")

#: Where the current request's stream slot is kept (``request.environ``).
ENVIRON_KEY: t.Final = "server_actions.stream_slot"
#: A slot outlives its stream's time limit by this much at most (a worker that
#: died holding one), then the cache forgets it.
_SLOT_GRACE = 60


class _ProcessStreams:
    """Open streams of one app in this process, guarded by a lock: gthread
    serves requests in threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: Open streams by kind (``"stream"``; ``"live"`` for live regions).
        self.open: dict[str, int] = collections.defaultdict(int)


_PROCESS: weakref.WeakKeyDictionary[Flask, _ProcessStreams] = (
    weakref.WeakKeyDictionary()
)
_PROCESS_LOCK = threading.Lock()


def _process(app: Flask) -> _ProcessStreams:
    with _PROCESS_LOCK:
        state = _PROCESS.get(app)
        if state is None:
            state = _PROCESS[app] = _ProcessStreams()
        return state


class _Slot:
    """One open stream's place: in the process count and in its owner's slots."""

    def __init__(self, app: Flask, owner: str, kind: str = "stream") -> None:
        self.app = app
        self.owner = owner
        self.kind = kind
        self.cache_key: str | None = None
        self.token = secrets.token_hex(8)
        self.released = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        state = _process(self.app)
        with state.lock:
            state.open[self.kind] -= 1
        if self.cache_key is not None:
            cache = app_state(self.app).cache
            # Only our own slot: after its TTL another stream may hold the key.
            if cache.get(self.cache_key) == self.token:
                cache.delete(self.cache_key)


def _slot_keys(owner: str, limit: int, kind: str = "stream") -> list[str]:
    base = app_state().cache.key_for(kind, owner)
    return [f"{base}:{i}" for i in range(limit)]


def _user_streams(owner: str, limit: int) -> int:
    cache = app_state().cache
    return sum(cache.get(key) is not None for key in _slot_keys(owner, limit))


def stream_owner() -> str:
    """Whose streams the per-user limit counts: ``user:<id>``, else ``addr:<address>``.

    .. versionadded:: 0.1
    """
    return caller()


def check_stream_limits(owner: str | None = None) -> None:
    """Raise :class:`TooManyStreams` if the caller cannot open a stream now.

    For an action that answers with a stream's URL (the stream itself is a
    later GET): the refusal then shows in the form, in either mode. The stream
    checks again when it opens; this is only the caller's own count (the
    stream may be served by another process).

    .. versionadded:: 0.1
    """
    settings = app_state().settings
    limit = settings.streams_per_user
    owner = owner or stream_owner()
    if limit and _user_streams(owner, limit) >= limit:
        raise TooManyStreams("user", limit, settings.retry_after)


def open_slot(
    owner: str,
    time_limit: float,
    *,
    kind: str = "stream",
    per_user: int | None = None,
    per_process: int | None = None,
) -> _Slot:
    """Take a place for one stream, or raise :class:`TooManyStreams`.

    :param kind: streams of another kind are counted apart (``"live"``).
    :param per_user: the limit per caller (default ``SERVER_ACTIONS_STREAMS_PER_USER``).
    :param per_process: the limit per process (default
        ``SERVER_ACTIONS_STREAMS_PER_PROCESS``).
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = app_state(app).settings
    if per_process is None:
        per_process = settings.streams_per_process
    if per_user is None:
        per_user = settings.streams_per_user
    state = _process(app)
    slot = _Slot(app, owner, kind)
    with state.lock:
        if per_process and state.open[kind] >= per_process:
            raise TooManyStreams("process", per_process, settings.retry_after)
        state.open[kind] += 1
    if not per_user:
        return slot
    ttl = int(time_limit or 3600) + _SLOT_GRACE
    cache = app_state(app).cache
    try:
        for key in _slot_keys(owner, per_user, kind):
            # ``add`` is atomic in every store: two workers cannot both win a slot.
            if cache.add(key, slot.token, timeout=ttl):
                slot.cache_key = key
                return slot
    except CacheUnavailable as exc:
        # The process limit still holds; a cache outage must not stop every stream.
        logger.warning("Stream limit per user not checked, cache unavailable: %s", exc)
        return slot
    slot.release()
    raise TooManyStreams("user", per_user, settings.retry_after)


def stream_format() -> StreamFormat:
    """Which encoding the current request asked for (see the module docs).

    Only an explicit ``text/event-stream`` or ``application/x-ndjson`` in
    ``Accept`` counts; ``*/*`` gets HTML.

    .. versionadded:: 0.1
    """
    named = {value.lower(): quality for value, quality in request.accept_mimetypes}
    if named.get(SSE_TYPE, 0) > 0:
        return "sse"
    if named.get(NDJSON_TYPE, 0) > 0 and named[NDJSON_TYPE] >= named.get(
        "text/html", 0
    ):
        return "ndjson"
    return "html"


class _Producer(t.Generic[_T]):
    """Counts the chunks it hands out and closes the source exactly once.

    Past ``deadline`` (``time.monotonic()``) it makes no more chunks: the
    source is closed, ``timed_out`` is set and ``stopped()`` (if given) makes
    one last chunk that says so.
    """

    def __init__(
        self,
        chunks: Iterable[_T],
        app: Flask,
        *,
        deadline: float | None = None,
        stopped: Callable[[], _T] | None = None,
    ) -> None:
        self._source = iter(chunks)
        self._app = app
        self._closed = False
        self._deadline = deadline
        self._stopped = stopped
        self.produced = 0
        self.complete = False
        #: Whether the time limit ended the stream.
        self.timed_out = False

    def __iter__(self) -> Iterator[_T]:
        return self

    def __next__(self) -> _T:
        if self.timed_out and self._stopped is not None:
            stopped, self._stopped = self._stopped, None
            return stopped()
        if self._closed:
            raise StopIteration
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.timed_out = True
            self.close()
            return self.__next__()
        try:
            chunk = next(self._source)
        except StopIteration:
            self.complete = True
            raise
        self.produced += 1
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._source, "close", None)
        if close is not None:
            close()  # GeneratorExit at the producer's current yield
        stream_closed.send(self._app, produced=self.produced, complete=self.complete)


def sse_message(data: str, *, event: str | None = None) -> str:
    """One server-sent event; ``data`` may span lines.

    .. versionadded:: 0.1
    """
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def _sse(chunks: Iterator[_T], encode: Callable[[_T], str]) -> Iterator[str]:
    # A comment first: proxies and the browser see the stream open at once.
    yield ": stream open\n\n"
    for chunk in chunks:
        yield sse_message(encode(chunk))
    yield sse_message(SSE_DONE_EVENT, event=SSE_DONE_EVENT)


def _ndjson(chunks: Iterator[_T], encode: Callable[[_T], t.Any]) -> Iterator[str]:
    for chunk in chunks:
        yield json.dumps(encode(chunk), separators=(",", ":")) + "\n"


def stream_response(
    chunks: Iterable[_T],
    *,
    html: Callable[[Iterator[_T]], Iterable[str]],
    sse: Callable[[_T], str],
    ndjson: Callable[[_T], t.Any],
    stopped: Callable[[], _T] | None = None,
    time_limit: float | None = None,
    owner: str | None = None,
) -> Response:
    """Stream ``chunks`` in the encoding the request asks for.

    ``chunks`` is usually a generator that makes each chunk when asked, so the
    client sees the first one before the last is made. Each encoder sees the
    chunks in order:

    :param html: gets the iterator of chunks and returns the page's text pieces,
        e.g. ``lambda sections: stream_template("report.html", sections=sections)``.
        The iterator has ``timed_out`` (and ``produced``, ``complete``) for
        the end of the page.
    :param sse: one chunk to the HTML of its SSE message.
    :param ndjson: one chunk to a JSON-serialisable object (one line).
    :param stopped: makes the last chunk when the time limit ends the stream
        (e.g. one that says the result is incomplete); it goes through the
        encoders like any other. Without it the stream just ends.
    :param time_limit: seconds the stream may run (default
        ``SERVER_ACTIONS_STREAM_TIME_LIMIT``; ``0`` for none). It is checked
        between chunks: a chunk being made is not interrupted.
    :param owner: whose stream this is for the per-user limit (default
        :func:`stream_owner`).
    :raise TooManyStreams: the caller or this process has the most streams
        open already (see the module docs); nothing has run.

    The response is ``Cache-Control: no-store``, ``Vary: Accept``, and runs in
    the request's context (:func:`flask.stream_with_context`), so the producer
    may use the database session and ``current_user``. Its place among the
    open streams is given back when the response is closed.

    .. versionadded:: 0.1
    """
    if time_limit is None:
        time_limit = float(app_state().settings.stream_time_limit)
    slot = open_slot(owner or stream_owner(), time_limit)
    request.environ[ENVIRON_KEY] = slot
    try:
        return _stream(chunks, html, sse, ndjson, stopped, time_limit, slot)
    except BaseException:
        slot.release()
        raise


def _stream(
    chunks: Iterable[_T],
    html: Callable[[Iterator[_T]], Iterable[str]],
    sse: Callable[[_T], str],
    ndjson: Callable[[_T], t.Any],
    stopped: Callable[[], _T] | None,
    time_limit: float,
    slot: _Slot,
) -> Response:
    producer = _Producer(
        chunks,
        current_app._get_current_object(),  # type: ignore[attr-defined]
        deadline=time.monotonic() + time_limit if time_limit else None,
        stopped=stopped,
    )
    fmt = stream_format()
    body: Iterable[str]
    if fmt == "sse":
        body, mimetype = _sse(producer, sse), SSE_TYPE
    elif fmt == "ndjson":
        body, mimetype = _ndjson(producer, ndjson), NDJSON_TYPE
    else:
        body, mimetype = html(producer), "text/html"

    def guarded() -> Iterator[str]:
        try:
            yield from body
        finally:
            # The encoder may hold the producer without closing it (a template
            # loop does): close it here, so the work stops now, not at GC.
            close = getattr(body, "close", None)
            if close is not None:
                close()
            producer.close()
            slot.release()

    response = Response(stream_with_context(guarded()), mimetype=mimetype)
    # Also when the body never started (closed before its first chunk).
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.vary.add("Accept")
    return response
