"""``revalidate_tag``, ``revalidate_path`` and ``refresh``: what an action made stale.

Inside an action they record what changed. The toolkit then re-renders every
region of the current page that depends on it and sends those regions back with
the action's answer (htmx out-of-band swaps), so one round trip updates the page.

``revalidate_tag`` and ``revalidate_path`` also bump the tag's or path's
generation in the server-side cache (see :mod:`flask_server_actions.cache`), so
every worker stops serving the old fragments and data on its next request.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t

from flask import g

from .cache import current_cache


@dataclasses.dataclass
class Stale:
    """What the current request's action made stale."""

    tags: set[str] = dataclasses.field(default_factory=set)
    paths: set[str] = dataclasses.field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.tags) or bool(self.paths)

    def affects(self, tags: t.Iterable[str], page_path: str | None) -> bool:
        """Whether a region with ``tags`` on ``page_path`` must render again."""
        if self.everything:
            return True
        if page_path is not None and page_path.split("?", 1)[0] in self.paths:
            return True
        return not self.tags.isdisjoint(tags)


def stale() -> Stale:
    """What has been revalidated so far in this request."""
    if "_server_actions_stale" not in g:
        g._server_actions_stale = Stale()
    found: Stale = g._server_actions_stale
    return found


def revalidate_tag(*tags: str) -> None:
    """Mark everything cached or rendered under ``tags`` as stale (``revalidateTag``).

    .. versionadded:: 0.1
    """
    for tag in tags:
        if not tag:
            raise ValueError(f"revalidate_tag() takes tag names, not {tag!r}.")
    stale().tags.update(tags)
    _bump([("tag", tag) for tag in tags])


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
    stale().paths.update(clean)
    _bump([("path", path) for path in clean])


def refresh() -> None:
    """Re-render every region of the current page in the action's answer (``refresh()``).

    Nothing cached is invalidated: the regions render fresh for this answer only.

    .. versionadded:: 0.1
    """
    stale().everything = True


_Bump = tuple[t.Literal["tag", "path"], str]


def _bump(bumps: list[_Bump]) -> None:
    deferred: list[_Bump] | None = g.get("_server_actions_deferred_bumps")
    if deferred is not None:
        deferred.extend(bumps)
        return
    cache = current_cache()
    for kind, name in bumps:
        cache.bump(kind, name)


@contextlib.contextmanager
def bumps_after() -> t.Iterator[None]:
    """Hold generation bumps until the block (an action's transaction) has ended.

    A bump made before the transaction commits would let another worker cache
    the old rows under the new generation, where they would stay until their
    TTL. The bumps run even if the block fails, since without a transaction
    its writes may have happened anyway.
    """
    outer: list[_Bump] | None = g.get("_server_actions_deferred_bumps")
    g._server_actions_deferred_bumps = []
    try:
        yield
    finally:
        pending: list[_Bump] = g._server_actions_deferred_bumps
        g._server_actions_deferred_bumps = outer
        _bump(pending)
