"""The live stream: tells each open browser which of its live regions changed.

``GET /_server_actions/live?topics=tag:posts path:/blog`` is a server-sent
event stream. It sends only the events whose topics the page named (its live
regions' tags and path), and each event is only ``{"t": [topics], "o": tab}``:
no content, no user data. The browser then fetches each affected region with
its own cookies (the region GET, ``HX-Target``), so the page view's
authorization and the region's ``vary`` decide what it sees.

=====================  ============================================================
``event: bump``        topics that have a new generation; ``id`` is the event's id
``event: hello``       first, with the heartbeat's interval in seconds
``event: hb``          a heartbeat every ``SERVER_ACTIONS_LIVE_HEARTBEAT`` seconds
                       (with the current id, so a resume starts from there)
``event: refetch``     events were missed that the log no longer keeps (or were
                       kept by another log): refetch every live region once
``event: reconnect``   the stream's time limit, or the server is shutting down:
                       reconnect now (to any worker), resuming from the last id
=====================  ============================================================

A reconnecting browser sends the last id it saw (``?last=`` or
``Last-Event-ID``), and the stream first replays what it missed.
"""

from __future__ import annotations

import json
import re
import time
import typing as t

from flask import Response
from flask import request
from flask import session
from flask import url_for

from .appstate import app_state
from .events import Event
from .events import EventLog
from .events import stop_all
from .policies import current_user
from .streaming import SSE_TYPE
from .streaming import open_slot
from .streaming import sse_message
from .streaming import stream_owner

if t.TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable
    from collections.abc import Iterator

#: The endpoint of the live stream.
LIVE_ENDPOINT: t.Final = "server_actions.live"
#: A topic: ``tag:<name>`` or ``path:<path>``.
TOPIC: t.Final = re.compile(r"(?:tag|path):[^\s]{1,200}")
#: Topics one stream may ask for.
MAX_TOPICS: t.Final = 200

#: What ``live=`` on a region can be: ``True`` (its tags and its page's path),
#: a tag, or several tags.
LiveOption = bool | str | t.Iterable[str] | None


def live_topics(live: LiveOption, tags: Iterable[str], path: str) -> list[str]:
    """The topics a region with ``live=`` listens to."""
    if live is None or live is False:
        return []
    if live is True:
        return [*(f"tag:{tag}" for tag in tags), f"path:{path.split('?', 1)[0]}"]
    names = [live] if isinstance(live, str) else list(live)
    return [f"tag:{name}" for name in names]


def live_url() -> str:
    """Where browsers open the live stream (``SERVER_ACTIONS_LIVE_URL`` or the toolkit's)."""
    return app_state().settings.live_url or url_for(LIVE_ENDPOINT)


def stop_live_streams() -> None:
    """End every live stream of this process now; browsers reconnect elsewhere.

    Call it when a worker is asked to stop, so its streams do not hold the
    shutdown until the server's graceful timeout. With gunicorn, in
    ``gunicorn.conf.py``::

        def post_worker_init(worker):
            import signal
            from flask_server_actions import stop_live_streams

            previous = signal.getsignal(signal.SIGTERM)

            def stop(signum, frame):
                stop_live_streams()
                previous(signum, frame)

            signal.signal(signal.SIGTERM, stop)

    .. versionadded:: 0.1
    """
    stop_all()


def live_owner() -> str:
    """Whose live streams the per-user cap counts.

    A signed-in user, else the visitor's browser session (so visitors behind
    one address, an office or a school, are not one "user"), else the address.
    """
    user = current_user()
    if getattr(user, "is_authenticated", False):
        return stream_owner()
    secret = session.get(app_state().settings.csrf_field)
    if isinstance(secret, str) and secret:
        return f"session:{secret}"
    return stream_owner()


def _bump(log: EventLog, event: Event, topics: frozenset[str]) -> str | None:
    wanted = [topic for topic in event.topics if topic in topics]
    if not wanted:
        return None
    data = json.dumps({"t": wanted, "o": event.origin}, separators=(",", ":"))
    return f"id: {log.epoch}.{event.n}\n" + sse_message(data, event="bump")


def _control(log: EventLog, n: int, event: str) -> str:
    return f"id: {log.epoch}.{n}\n" + sse_message("", event=event)


def live_stream() -> Response:
    """The live stream view (see the module docs).

    Refused with 429 and ``Retry-After`` when the caller has
    ``SERVER_ACTIONS_LIVE_PER_USER`` live streams open, or this process has
    ``SERVER_ACTIONS_LIVE_PER_PROCESS``; the browser tries again later, and
    the page keeps working without live updates.
    """
    state = app_state()
    settings = state.settings
    log = state.events
    words = request.args.get("topics", "").split()
    topics = frozenset(w for w in words[:MAX_TOPICS] if TOPIC.fullmatch(w))
    last = request.args.get("last") or request.headers.get("Last-Event-ID")
    owner = live_owner()
    slots = []
    if owner.startswith("session:") and settings.live_per_address:
        # A visitor's session is one page load away: all of an address's
        # visitors together have a (larger) cap too.
        slots.append(
            open_slot(
                stream_owner(),
                settings.live_time_limit,
                kind="live-address",
                per_user=settings.live_per_address,
                per_process=0,
            )
        )
    try:
        slots.append(
            open_slot(
                owner,
                settings.live_time_limit,
                kind="live",
                per_user=settings.live_per_user,
                per_process=settings.live_per_process,
            )
        )
    except BaseException:
        for taken in slots:
            taken.release()
        raise
    slot = _Slots(slots)
    try:
        newest = log.parse(log.latest())
        assert newest is not None
        # Just after the log was first listened to, the page may have been
        # rendered while events were not stored: it refetches once.
        start = None if log.in_grace() else log.parse(last) if last else newest
        deadline = time.monotonic() + (settings.live_time_limit or float("inf"))
        body = _events(log, topics, start, newest, settings.live_heartbeat, deadline)
    except BaseException:
        slot.release()
        raise

    def guarded() -> Iterator[str]:
        try:
            yield from body
        finally:
            slot.release()

    response = Response(guarded(), mimetype=SSE_TYPE)
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


class _Slots:
    """The places one live stream holds (its owner's, and its address's)."""

    def __init__(self, slots: list[t.Any]) -> None:
        self.slots = slots

    def release(self) -> None:
        for slot in self.slots:
            slot.release()


def _events(
    log: EventLog,
    topics: frozenset[str],
    start: int | None,
    newest: int,
    heartbeat: float,
    deadline: float,
) -> Iterator[str]:
    # A comment first: proxies and the browser see the stream open at once.
    yield ": live\n\n"
    # How often to expect a word from the stream: silent much longer, the
    # browser takes the connection for dead (a server gone without a FIN).
    yield sse_message(f"{heartbeat:g}", event="hello")
    cursor = newest
    missed = log.after(start) if start is not None else None
    if missed is None:
        # An id from another log, or older than what is kept: refetch once.
        yield _control(log, newest, "refetch")
    else:
        for event in missed:
            cursor = max(cursor, event.n)
            message = _bump(log, event, topics)
            if message:
                yield message
        cursor = max(cursor, missed[-1].n if missed else start or 0)
    quiet_since = time.monotonic()
    while not log.stopping.is_set():
        now = time.monotonic()
        if now >= deadline:
            break
        found = log.wait(cursor, max(0.0, min(quiet_since + heartbeat, deadline) - now))
        if found is None:
            cursor = log.parse(log.latest()) or cursor
            quiet_since = time.monotonic()
            yield _control(log, cursor, "refetch")
            continue
        for event in found:
            cursor = max(cursor, event.n)
            message = _bump(log, event, topics)
            if message:
                quiet_since = time.monotonic()
                yield message
        # Events for other pages do not count as news, but the stream must not
        # look dead (to proxies, or to a client that gave up on it).
        if time.monotonic() - quiet_since >= heartbeat:
            quiet_since = time.monotonic()
            yield _control(log, cursor, "hb")
    # The time limit, or the process is stopping: the browser reconnects now.
    yield _control(log, cursor, "reconnect")
