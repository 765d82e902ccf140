"""``@cached``: keep a function's results in the server-side cache (``unstable_cache``)."""

from __future__ import annotations

import functools
import typing as t

from flask import has_request_context

from .cache import current_cache
from .exchange import current_exchange

_P = t.ParamSpec("_P")
_R = t.TypeVar("_R")


def cached(
    tags: t.Iterable[str] = (),
    ttl: int | None = None,
    key: str | None = None,
) -> t.Callable[[t.Callable[_P, _R]], t.Callable[_P, _R]]:
    """Cache what the decorated function returns, per arguments, under ``tags``.

    ::

        @cached(tags=["posts"], ttl=3600)
        def popular_posts(limit: int = 5) -> list[Post]: ...

    ``revalidate_tag("posts")`` makes every worker call the function again.
    Values are pickled by the backend, so they must be picklable. Call it inside
    an app or request context.

    :param tags: tags whose revalidation invalidates the results.
    :param ttl: seconds to keep a result; ``None`` for
        ``SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT``, ``0`` for no expiry.
    :param key: the name results are stored under instead of the function's
        module and qualified name, e.g. to keep them when the function moves.

    .. versionadded:: 0.1
    """
    tag_list = sorted({str(tag) for tag in tags})

    def decorator(func: t.Callable[_P, _R]) -> t.Callable[_P, _R]:
        name = key or f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            cache = current_cache()
            generations = cache.generations(tag_list)
            entry = cache.key_for("data", name, args, kwargs, tag_list, generations)
            # Revalidated earlier in this request, before the generation bump
            # (which waits for the action's transaction): compute afresh.
            fresh = (
                has_request_context()
                and not current_exchange().stale.tags.isdisjoint(tag_list)
            )
            if not fresh:
                found = cache.get(entry)
                # Stored in a 1-tuple so a cached None is told apart from a miss.
                if isinstance(found, tuple) and len(found) == 1:
                    return t.cast(_R, found[0])
            value = func(*args, **kwargs)
            cache.set(entry, (value,), timeout=ttl)
            return value

        return wrapper

    return decorator
