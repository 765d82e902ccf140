"""Refuse cross-site POSTs by ``Sec-Fetch-Site`` and ``Origin``, besides the CSRF token."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask import request

from .errors import CrossOriginRequest

_SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def _netloc(origin: str) -> str:
    return urlsplit(origin).netloc.lower()


def check_origin() -> None:
    """Raise :class:`CrossOriginRequest` unless the request came from this site.

    A browser that sends ``Sec-Fetch-Site`` is believed; otherwise ``Origin`` must
    name this host or one of ``SERVER_ACTIONS_ALLOWED_ORIGINS``. A request with
    neither header (an old browser, a script) is left to the CSRF token.
    """
    allowed = {_netloc(o) for o in current_app.config["SERVER_ACTIONS_ALLOWED_ORIGINS"]}
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")

    if origin == "null":
        raise CrossOriginRequest(origin)
    if origin is not None:
        netloc = _netloc(origin)
        if netloc in allowed:
            return
        if netloc != request.host.lower():
            raise CrossOriginRequest(origin)
    if fetch_site is not None and fetch_site not in _SAME_SITE_FETCH:
        raise CrossOriginRequest(f"Sec-Fetch-Site: {fetch_site}")
