"""Regions: named parts of a page that can be rendered alone and swapped in place."""

from __future__ import annotations

import re
import typing as t

from flask import current_app
from flask import g
from flask import request
from markupsafe import Markup
from markupsafe import escape

from .cache import current_cache
from .forms import page_path
from .policies import current_user
from .revalidation import stale

#: Block names of regions start with this, so a page's regions can be listed.
REGION_PREFIX: t.Final = "sa_region__"
_VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

#: What a cached region can vary on besides its name, template and page.
VaryOn = t.Literal["user", "path", "query", "lang"]
_VARY_ON: t.Final = frozenset(t.get_args(VaryOn))
#: Without ``vary=``, a cached region is per user and per page, so a fragment
#: that shows one user's data can never be served to another.
DEFAULT_VARY: t.Final = ("user", "path")

#: How a region is being rendered: inside the whole page, alone, or out of band.
RegionMode = t.Literal["page", "alone", "oob"]


def region_block_name(name: str) -> str:
    return REGION_PREFIX + re.sub(r"\W", "_", name)


def check_region_name(name: str) -> None:
    if not _VALID_NAME.match(name):
        raise ValueError(
            f"Region name {name!r} must start with a letter and use letters,"
            " digits, '-' and '_' only (it becomes the element's id)."
        )


def region_mode() -> RegionMode:
    mode: RegionMode = g.get("_server_actions_region_mode", "page")
    return mode


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
) -> Markup:
    """The region's element, or nothing when an out-of-band pass does not need it.

    :param cache: keep the rendered content this many seconds (``True`` for
        ``SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT``); ``None`` never caches.
    :param vary: what the cached content differs by: ``"user"``, ``"path"``,
        ``"query"``, ``"lang"``. Defaults to user and path; ``[]`` shares it.
    :param template_name: the template the region is defined in, part of the key.
    """
    tag_list = [str(tag) for tag in tags]
    mode = region_mode()
    if mode == "oob" and not stale().affects(tag_list, page_path()):
        return Markup("")
    if cache is None or cache is False:
        inner = caller()
    else:
        timeout = None if cache is True else int(cache)
        path = page_path().split("?", 1)[0]
        inner = _cached_inner(
            name, caller, tag_list, path, timeout, vary, template_name
        )
    extra = "".join(
        f' {escape(k)}="{escape(v)}"' for k, v in (attrs or {}).items() if v is not None
    )
    oob = ' hx-swap-oob="outerHTML"' if mode == "oob" else ""
    tags_attr = escape(" ".join(tag_list))
    return Markup(
        f'<{element} id="{escape(name)}" data-sa-region data-sa-tags="{tags_attr}"'
        f"{extra}{oob}>{inner}</{element}>"
    )


def _cached_inner(
    name: str,
    caller: t.Callable[[], str],
    tags: list[str],
    path: str,
    timeout: int | None,
    vary: t.Iterable[str] | str | None,
    template_name: str | None,
) -> str:
    cache = current_cache()
    # The page path's generation is always in the key, so revalidate_path
    # reaches every cached region rendered on that page.
    generations = cache.generations(tags, path)
    key = cache.key_for(
        "region", template_name, name, vary_values(vary), tags, path, generations
    )
    # Stale in this request (also refresh()): render fresh and store it, even
    # if the bump that changes the key has not happened yet.
    if not stale().affects(tags, path):
        found = cache.get(key)
        if isinstance(found, str):
            return Markup(found)
    inner = caller()
    cache.set(key, str(inner), timeout=timeout)
    return inner


def vary_values(vary: t.Iterable[str] | str | None) -> dict[str, str]:
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
        values[part] = _vary_value(part)
    return values


def _vary_value(part: str) -> str:
    if part == "user":
        user = current_user()
        if not getattr(user, "is_authenticated", False):
            return "anon"
        return str(user.get_id())
    if part == "path":
        return page_path().split("?", 1)[0]
    if part == "query":
        return page_path().partition("?")[2]
    lang = g.get("lang")
    if lang:
        return str(lang)
    languages = current_app.config["SERVER_ACTIONS_LANGUAGES"]
    if languages:
        return request.accept_languages.best_match(languages) or languages[0]
    return request.accept_languages.best or ""
