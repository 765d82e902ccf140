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
"""

from __future__ import annotations

import json
import typing as t

from blinker import Namespace
from flask import Response
from flask import current_app
from flask import request
from flask import stream_with_context

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


def stream_format() -> StreamFormat:
    """Which encoding the current request asked for (see the module docs).

    Only an explicit ``text/event-stream`` or ``application/x-ndjson`` in
    ``Accept`` counts; ``*/*`` gets HTML.

    .. versionadded:: 0.2
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
    """Counts the chunks it hands out and closes the source exactly once."""

    def __init__(self, chunks: Iterable[_T], app: Flask) -> None:
        self._source = iter(chunks)
        self._app = app
        self._closed = False
        self.produced = 0
        self.complete = False

    def __iter__(self) -> Iterator[_T]:
        return self

    def __next__(self) -> _T:
        if self._closed:
            raise StopIteration
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

    .. versionadded:: 0.2
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
) -> Response:
    """Stream ``chunks`` in the encoding the request asks for.

    ``chunks`` is usually a generator that makes each chunk when asked, so the
    client sees the first one before the last is made. Each encoder sees the
    chunks in order:

    :param html: gets the iterator of chunks and returns the page's text pieces,
        e.g. ``lambda sections: stream_template("report.html", sections=sections)``.
    :param sse: one chunk to the HTML of its SSE message.
    :param ndjson: one chunk to a JSON-serialisable object (one line).

    The response is ``Cache-Control: no-store``, ``Vary: Accept``, and runs in
    the request's context (:func:`flask.stream_with_context`), so the producer
    may use the database session and ``current_user``.

    .. versionadded:: 0.2
    """
    producer = _Producer(chunks, current_app._get_current_object())  # type: ignore[attr-defined]
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

    response = Response(stream_with_context(guarded()), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.vary.add("Accept")
    return response
