"""Refuse cross-site POSTs by ``Sec-Fetch-Site`` and ``Origin``, besides the CSRF token."""

from __future__ import annotations

from collections.abc import Set

from flask import Request

from .errors import CrossOriginRequest
from .urls import netloc_of

_SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def check_origin(request: Request, allowed: Set[str]) -> None:
    """Raise :class:`CrossOriginRequest` unless the request came from this site.

    A browser that sends ``Sec-Fetch-Site`` is believed; otherwise ``Origin`` must
    name this host (over HTTPS when the request came over HTTPS) or one of ``allowed`` (``SERVER_ACTIONS_ALLOWED_ORIGINS``, as
    lower-case ``host[:port]``). A request with neither header (an old browser, a
    script) is left to the CSRF token.
    """
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")

    if origin == "null":
        raise CrossOriginRequest(origin)
    if origin is not None:
        netloc = netloc_of(origin)
        if netloc in allowed:
            return
        if netloc != request.host.lower():
            raise CrossOriginRequest(origin)
        # The same host over plain HTTP posting to an HTTPS site: a page a
        # network attacker can write. (The other way round is a proxy that ends
        # TLS without telling the app, so it is let through.)
        if request.is_secure and origin.lower().startswith("http://"):
            raise CrossOriginRequest(origin)
    if fetch_site is not None and fetch_site not in _SAME_SITE_FETCH:
        raise CrossOriginRequest(f"Sec-Fetch-Site: {fetch_site}")
