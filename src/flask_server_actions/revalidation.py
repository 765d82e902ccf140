"""``revalidate_tag``, ``revalidate_path`` and ``refresh``: what an action made stale.

Inside an action they record what changed on the request's exchange. The answer
then re-renders every region of the current page that depends on it and sends
those regions back with the action's answer (htmx out-of-band swaps), so one
round trip updates the page.

``revalidate_tag`` and ``revalidate_path`` also bump the tag's or path's
generation in the server-side cache (see :mod:`flask_server_actions.cache`), so
every worker stops serving the old fragments and data on its next request.
Outside a request (a CLI command, a job) they only bump.

Every bump is also published as a live event (see :mod:`flask_server_actions.events`),
after the action's transaction, so browsers showing a live region of that tag or
path fetch it again.
"""

from __future__ import annotations

import contextlib
import re
import typing as t

from flask import has_request_context

from .appstate import app_state
from .cache import current_cache
from .exchange import Bump
from .exchange import Exchange
from .exchange import current_exchange

#: The header the live script sends with every request: its tab's id.
LIVE_CLIENT_HEADER: t.Final = "X-SA-Live-Client"
LIVE_CLIENT: t.Final = re.compile(r"[A-Za-z0-9_-]{8,64}")


def _exchange() -> Exchange | None:
    return current_exchange() if has_request_context() else None


def revalidate_tag(*tags: str) -> None:
    """Mark everything cached or rendered under ``tags`` as stale (``revalidateTag``).

    .. versionadded:: 0.1
    """
    for tag in tags:
        if not tag:
            raise ValueError(f"revalidate_tag() takes tag names, not {tag!r}.")
    exchange = _exchange()
    if exchange is not None:
        exchange.stale.tags.update(tags)
    _bump(exchange, [("tag", tag) for tag in tags])


def revalidate_path(*paths: str) -> None:
    """Mark the pages at ``paths`` as stale (``revalidatePath``).

    .. versionadded:: 0.1
    """
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(
                f"revalidate_path() takes paths starting with '/', not {path!r}."
            )
    clean = [p.split("?", 1)[0] for p in paths]
    exchange = _exchange()
    if exchange is not None:
        exchange.stale.paths.update(clean)
    _bump(exchange, [("path", path) for path in clean])


def refresh() -> None:
    """Re-render every region of the current page in the action's answer (``refresh()``).

    Nothing cached is invalidated: the regions render fresh for this answer only.

    .. versionadded:: 0.1
    """
    current_exchange().stale.everything = True


def _bump(exchange: Exchange | None, bumps: list[Bump]) -> None:
    if exchange is not None and exchange.deferred_bumps is not None:
        exchange.deferred_bumps.extend(bumps)
        return
    if not bumps:
        return
    cache = current_cache()
    for kind, name in bumps:
        cache.bump(kind, name)
    origin = None
    if exchange is not None:
        # The tab that made the change already has its answer: it skips the echo.
        origin = LIVE_CLIENT.fullmatch(
            exchange.request.headers.get(LIVE_CLIENT_HEADER, "")
        )
    events = exchange.app.events if exchange is not None else app_state().events
    event = events.publish(
        (f"{kind}:{name}" for kind, name in bumps),
        origin.group(0) if origin else None,
    )
    if exchange is not None and event is not None:
        exchange.published_event = event.n


@contextlib.contextmanager
def bumps_after(exchange: Exchange) -> t.Iterator[None]:
    """Hold generation bumps until the block (an action's transaction) has ended.

    A bump made before the transaction commits would let another worker cache
    the old rows under the new generation, where they would stay until their
    TTL. The bumps run even if the block fails, since without a transaction
    its writes may have happened anyway.
    """
    outer = exchange.deferred_bumps
    pending: list[Bump] = []
    exchange.deferred_bumps = pending
    try:
        yield
    finally:
        exchange.deferred_bumps = outer
        _bump(exchange, pending)
