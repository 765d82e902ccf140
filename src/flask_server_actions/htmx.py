"""The htmx request headers, parsed, and helpers that set htmx response headers.

The current request's details are :data:`flask_server_actions.current_htmx`
(an :class:`HtmxDetails`). The helpers take a response and return it, so calls chain::

    from flask_server_actions.htmx import replace_url, retarget
"""

from __future__ import annotations

import json
import sys
import types
import typing as t
import warnings
from functools import cached_property
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import has_request_context
from flask import request
from werkzeug.datastructures import Headers
from werkzeug.urls import iri_to_uri

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Response

    from ._typing import SwapMethod

#: A status htmx reads as "stop polling".
HTMX_STOP_POLLING: t.Final = 286


class HtmxDetails:
    """The htmx request headers of one request, each parsed once.

    ``bool(details)`` is ``True`` when the request carries ``HX-Request: true``.

    :param headers: the request's headers.
    :param host: the request's host, to tell whether ``HX-Current-URL`` is this site.

    .. versionadded:: 0.1
    """

    def __init__(self, headers: t.Mapping[str, str] | Headers, host: str = "") -> None:
        self._headers = headers
        self._host = host

    def _get(self, name: str) -> str | None:
        value = self._headers.get(name)
        return value if value else None

    def __bool__(self) -> bool:
        return self._get("HX-Request") == "true"

    @cached_property
    def boosted(self) -> bool:
        return self._get("HX-Boosted") == "true"

    @cached_property
    def current_url(self) -> str | None:
        return self._get("HX-Current-URL")

    @cached_property
    def current_path(self) -> str | None:
        """The path and query of ``HX-Current-URL``, when it names this host.

        A header that is not a URL (a client can send anything) counts as absent.
        """
        url = self.current_url
        if url is None:
            return None
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.netloc and parts.netloc != self._host:
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @cached_property
    def history_restore_request(self) -> bool:
        return self._get("HX-History-Restore-Request") == "true"

    @cached_property
    def request_type(self) -> str | None:
        """``"partial"`` for a targeted swap, ``"full"`` for a whole-page one."""
        return self._get("HX-Request-Type")

    @cached_property
    def wants_full_page(self) -> bool:
        """History restores and whole-page requests need the full page, not a fragment."""
        return self.history_restore_request or self.request_type == "full"

    @cached_property
    def source(self) -> str | None:
        return self._get("HX-Source")

    @cached_property
    def target(self) -> str | None:
        """``HX-Target`` as htmx 4 sends it: ``tag#id``."""
        return self._get("HX-Target")

    @cached_property
    def target_id(self) -> str | None:
        """The element id inside ``HX-Target`` (``form#signup`` gives ``signup``)."""
        target = self.target
        if target is None or "#" not in target:
            return None
        return unquote(target.split("#", 1)[1]) or None


_R = t.TypeVar("_R", bound="Response")


def location(response: _R, url: str) -> _R:
    """Have htmx load ``url`` into the page without a full reload (``HX-Location``).

    URLs in headers are encoded (``/€`` becomes ``/%E2%82%AC``): a header can only
    carry Latin-1, and a WSGI server fails on anything else.
    """
    response.headers["HX-Location"] = iri_to_uri(url)
    return response


def client_redirect(response: _R, url: str) -> _R:
    """Have htmx do a full browser redirect to ``url`` (``HX-Redirect``)."""
    response.headers["HX-Redirect"] = iri_to_uri(url)
    return response


def retarget(response: _R, selector: str) -> _R:
    """Swap the response into ``selector`` instead of the element's target."""
    response.headers["HX-Retarget"] = selector
    return response


def reswap(response: _R, method: SwapMethod) -> _R:
    """Swap the response with ``method`` instead of the element's ``hx-swap``."""
    response.headers["HX-Reswap"] = method
    return response


def push_url(response: _R, url: str | t.Literal[False]) -> _R:
    """Push ``url`` into the browser history (``False`` prevents a push)."""
    response.headers["HX-Push-Url"] = "false" if url is False else iri_to_uri(url)
    return response


def replace_url(response: _R, url: str | t.Literal[False]) -> _R:
    """Replace the browser's current URL with ``url`` (``HX-Replace-Url``).

    A search that updates as you type replaces rather than pushes, so the
    address bar stays bookmarkable without one history entry per keystroke.
    ``False`` prevents a replacement the element asked for.

    .. versionadded:: 0.1
    """
    response.headers["HX-Replace-Url"] = "false" if url is False else iri_to_uri(url)
    return response


def trigger_client_event(
    response: _R, name: str, detail: t.Mapping[str, t.Any] | None = None
) -> _R:
    """Fire the event ``name`` on the client after the response arrives.

    Several calls merge into one ``HX-Trigger`` header.
    """
    raw = response.headers.get("HX-Trigger")
    events: dict[str, t.Any] = json.loads(raw) if raw else {}
    events[name] = dict(detail or {})
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


_DETAILS: t.Final = frozenset(
    name
    for name, value in vars(HtmxDetails).items()
    if isinstance(value, cached_property)
)


def _deprecated_details() -> HtmxDetails:
    warnings.warn(
        "Using flask_server_actions.htmx as the request's htmx details is"
        " deprecated and stops working in the next release; use"
        " flask_server_actions.current_htmx instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    return HtmxDetails(request.headers, request.host)


class _ModuleThatWasTheProxy(types.ModuleType):
    """This module, answering as the request's htmx details did in 0.1.

    ``from flask_server_actions import htmx`` used to give the request's details
    (``if htmx: …``, ``htmx.target_id``); it now gives this module, which keeps
    answering those, with a ``DeprecationWarning``, for one release.
    """

    def __bool__(self) -> bool:
        if not has_request_context():
            return True
        return bool(_deprecated_details())

    def __getattr__(self, name: str) -> t.Any:
        if name in _DETAILS and has_request_context():
            return getattr(_deprecated_details(), name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


sys.modules[__name__].__class__ = _ModuleThatWasTheProxy
