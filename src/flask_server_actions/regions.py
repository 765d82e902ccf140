"""Regions: named parts of a page that can be rendered alone and swapped in place."""

from __future__ import annotations

import typing as t

from flask import after_this_request
from flask import session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .cache import current_cache
from .exchange import Exchange
from .exchange import current_exchange
from .fields import region_block_name
from .live import LiveOption
from .live import live_topics
from .markup import HtmlTemplate
from .policies import current_user

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Response

#: What a cached region can vary on besides its name, template and page.
VaryOn = t.Literal["user", "path", "query", "lang"]
_VARY_ON: t.Final = frozenset(t.get_args(VaryOn))
#: Without ``vary=``, a cached region is per user and per page, so a fragment
#: that shows one user's data can never be served to another.
DEFAULT_VARY: t.Final = ("user", "path")
_LIVE: t.Final = HtmlTemplate(
    ' data-sa-live="%s" data-sa-etag="%s" data-sa-live-since="%s"'
)
_EXTRA: t.Final = HtmlTemplate(' %s="%s"')
_REGION: t.Final = HtmlTemplate(
    '<%(element)s id="%(name)s" data-sa-region data-sa-tags="%(tags)s"%(live)s'
    "%(extra)s%(oob)s>%(inner)s</%(element)s>"
)
_OOB: t.Final = Markup(' hx-swap-oob="outerHTML"')
#: A region with ``swap="morph"`` (and every live region refreshed by the
#: live script) is morphed: what the user is typing, focus and scroll stay.
_OOB_MORPH: t.Final = Markup(' hx-swap-oob="outerMorph"')
#: How an action's answer swaps a region in: ``"replace"`` or ``"morph"``.
RegionSwap = t.Literal["replace", "morph"]


def render_region(
    name: str,
    caller: t.Callable[[], str],
    *,
    tags: t.Iterable[str] = (),
    element: str = "div",
    attrs: t.Mapping[str, t.Any] | None = None,
    cache: int | bool | None = None,
    vary: t.Iterable[str] | str | None = None,
    template_name: str | None = None,
    live: LiveOption = None,
    swap: RegionSwap = "replace",
) -> Markup:
    """The region's element, or nothing when an out-of-band pass does not need it.

    :param cache: keep the rendered content this many seconds (``True`` for
        ``SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT``); ``None`` never caches.
    :param vary: what the cached content differs by: ``"user"``, ``"path"``,
        ``"query"``, ``"lang"``. Defaults to user and path; ``[]`` shares it.
    :param template_name: the template the region is defined in, part of the key.
    :param live: refresh the region in every open browser when its tags or its
        page's path are revalidated (``True``), or when these tags are (a tag
        or a list of tags). See ``docs/live-regions.md``.
    :param swap: ``"morph"`` merges the region into the page after an action
        (htmx's ``outerMorph``) instead of replacing it.
    """
    exchange = current_exchange()
    tag_list = [str(tag) for tag in tags]
    mode = exchange.region_mode
    block = region_block_name(name) if mode == "capture" else None
    if block is not None:
        # The whole page renders, so the conditions around this region hold;
        # a wanted region renders as it was asked for, and is kept.
        mode = exchange.capturing.get(block, "page")
    if swap not in ("replace", "morph"):
        raise ValueError(f"A region's swap is 'replace' or 'morph', not {swap!r}.")
    if mode == "oob" and not exchange.stale.affects(tag_list, exchange.page_path):
        return Markup("")
    topics = live_topics(live, tag_list, exchange.page_path)
    live_attrs = Markup("")
    if topics:
        # What the region is refreshed on is part of what it shows.
        live_tags = [topic[4:] for topic in topics if topic.startswith("tag:")]
        etag = region_etag(
            exchange, name, template_name, sorted({*tag_list, *live_tags}), vary
        )
        if mode == "alone" and _not_modified(exchange, etag):
            return Markup("")  # one read of the generations, nothing rendered
        since = exchange.app.events.cursor(exchange.published_event)
        live_attrs = _LIVE % (" ".join(topics), f'"{etag}"', since)
    if cache is None or cache is False:
        inner = caller()
    else:
        timeout = None if cache is True else int(cache)
        inner = _cached_inner(
            exchange, name, caller, tag_list, timeout, vary, template_name
        )
    extra = Markup("").join(
        _EXTRA % (k, v) for k, v in (attrs or {}).items() if v is not None
    )
    oob = Markup("")
    if mode == "oob":
        oob = _OOB_MORPH if swap == "morph" else _OOB
    markup = _REGION % {
        "element": element,
        "name": name,
        "tags": " ".join(tag_list),
        "live": live_attrs,
        "extra": extra,
        "oob": oob,
        "inner": Markup(inner),
    }
    if block is not None and block in exchange.capturing:
        exchange.captured[block] = markup
    return markup


def region_etag(
    exchange: Exchange,
    name: str,
    template_name: str | None,
    tags: list[str],
    vary: t.Iterable[str] | str | None,
) -> str:
    """The validator of a live region: its tags' and page's generations, the user.

    Whatever the region shows must depend only on these (as for ``cache=``):
    then an unchanged region answers 304 to the live script's GET.
    """
    cache = current_cache()
    path = exchange.page_path.split("?", 1)[0]
    values = vary_values(exchange, vary)
    values.update(vary_values(exchange, ["user"]))
    key = cache.key_for(
        "etag",
        template_name,
        name,
        exchange.page_path,
        values,
        sorted(tags),
        cache.generations(tags, path),
    )
    return key.rpartition(":")[2][:32]


def _not_modified(exchange: Exchange, etag: str) -> bool:
    """Answer a region GET with 304 when the browser has ``etag`` already."""
    matches = exchange.request.if_none_match.contains(etag)
    if not matches:
        after_this_request(_with_etag(etag, modified=True))
        return False
    after_this_request(_with_etag(etag, modified=False))
    return True


def _with_etag(etag: str, *, modified: bool) -> t.Callable[[Response], Response]:
    def finish(response: Response) -> Response:
        if response.status_code != 200:
            return response
        response.set_etag(etag)
        # The user's own cookies make the answer: no shared cache may keep it.
        response.headers["Cache-Control"] = "private, no-cache"
        if not modified:
            response.status_code = 304
            response.set_data(b"")
            response.headers.pop("Content-Type", None)
        return response

    return finish


def _cached_inner(
    exchange: Exchange,
    name: str,
    caller: t.Callable[[], str],
    tags: list[str],
    timeout: int | None,
    vary: t.Iterable[str] | str | None,
    template_name: str | None,
) -> str:
    cache = current_cache()
    path = exchange.page_path.split("?", 1)[0]
    key = cache.key_for(
        "region", template_name, name, vary_values(exchange, vary), tags, path
    )
    # The markup is kept with the generations it was rendered at (of its tags
    # and of the page path, so revalidate_path reaches every cached region of
    # the page): both come back in one read, and a bump makes it a miss.
    generations, found = cache.generations_and(key, tags, path)
    rendered_at = ",".join(map(str, generations))
    # Stale in this request (also refresh()): render fresh and store it, even
    # if the bump that changes the generations has not happened yet.
    if isinstance(found, str) and not exchange.stale.affects(tags, path):
        stored_at, _, markup = found.partition("\n")
        if stored_at == rendered_at:
            return Markup(markup)
    inner = caller()
    cache.set(key, f"{rendered_at}\n{inner}", timeout=timeout)
    return inner


def vary_values(
    exchange: Exchange, vary: t.Iterable[str] | str | None
) -> dict[str, str]:
    """What the current request looks like for each part of ``vary``."""
    if vary is None:
        vary = DEFAULT_VARY
    elif isinstance(vary, str):
        vary = [vary]
    values: dict[str, str] = {}
    for part in vary:
        if part not in _VARY_ON:
            raise ValueError(
                f"A region cannot vary on {part!r}; use 'user', 'path', 'query' or 'lang'."
            )
        values[part] = _vary_value(exchange, part)
    return values


def _visitor(exchange: Exchange) -> str:
    """Who an anonymous visitor is, for a region kept per user.

    Visitors who are not signed in are told apart by their browser session (its
    CSRF secret, as submission keys are), since a region may show what the
    session holds (a cart, a to-do list). A visitor whose session is empty has
    nothing of their own to show, so all of them share one entry.
    """
    if not session:
        return "anonymous"
    field = exchange.settings.csrf_field
    if field not in session:
        generate_csrf()  # gives the session its secret
    return f"session:{session[field]}"


def _vary_value(exchange: Exchange, part: str) -> str:
    if part == "user":
        user = current_user()
        if getattr(user, "is_authenticated", False):
            return f"user:{user.get_id()}"
        return _visitor(exchange)
    if part == "path":
        return exchange.page_path.split("?", 1)[0]
    if part == "query":
        return exchange.page_path.partition("?")[2]
    languages = exchange.settings.languages
    accepted = exchange.request.accept_languages
    if languages:
        return accepted.best_match(languages) or languages[0]
    return accepted.best or ""
