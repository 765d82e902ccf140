"""Security headers that suit an htmx site: a strict CSP, no framing, HSTS over HTTPS.

htmx 4 and the toolkit's script are plain files, so ``script-src 'self'`` is
enough: no inline script, no ``eval``. htmx only needs ``eval`` for ``hx-on``
handlers and ``js:`` values, which the toolkit never renders; a site that wants
them adds the vendored ``hx-csp`` extension and nonces itself. htmx's indicator
styles are a constructed stylesheet, which ``style-src 'self'`` does not block.
"""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import request

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Response

#: The policy :func:`security_headers` sends unless told otherwise.
DEFAULT_CSP: t.Final[dict[str, str]] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

#: One year, the value HSTS preload lists ask for.
HSTS_MAX_AGE: t.Final = 365 * 24 * 3600


def content_security_policy(directives: t.Mapping[str, str]) -> str:
    """``{"default-src": "'self'"}`` as a header value."""
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def security_headers(
    app: Flask,
    *,
    csp: t.Mapping[str, str] | None = None,
    hsts: bool = True,
) -> None:
    """Send security headers with every response of ``app``.

    ::

        security_headers(app)                     # DEFAULT_CSP
        security_headers(app, csp={**DEFAULT_CSP, "img-src": "'self' https:"})

    Sends ``Content-Security-Policy``, ``X-Frame-Options: DENY``,
    ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and, when the request
    came over HTTPS (``request.is_secure``, so put
    :class:`werkzeug.middleware.proxy_fix.ProxyFix` in front when a proxy ends
    TLS), ``Strict-Transport-Security``. A header the view already set is kept.

    :param csp: directive → sources; ``None`` for :data:`DEFAULT_CSP`.
    :param hsts: send HSTS on secure requests.

    .. versionadded:: 0.1
    """
    policy = content_security_policy(DEFAULT_CSP if csp is None else csp)

    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts and request.is_secure:
            headers.setdefault(
                "Strict-Transport-Security",
                f"max-age={HSTS_MAX_AGE}; includeSubDomains",
            )
        return response

    app.after_request(add_headers)
