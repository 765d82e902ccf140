"""The CSRF check of an action: Flask-WTF's, plus forms signed before a key rotation.

Flask-WTF checks the token with the current ``SECRET_KEY`` only, so after a
rotation (the old key moved to ``SECRET_KEY_FALLBACKS``) every form already on
screen would fail, although Flask keeps its sessions. A token that the current
key refuses is tried with each fallback key, with Flask-WTF's own
``validate_csrf``, and Flask-WTF's HTTPS referrer rule still applies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from .exchange import Exchange


def check_csrf(exchange: Exchange) -> None:
    """Raise ``CSRFError`` unless the request carries a valid CSRF token."""
    csrf = exchange.app.csrf
    config = current_app.config
    if csrf is None or not config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        csrf.protect()
    except CSRFError:
        if not _signed_before_rotation(exchange):
            raise
        _check_https_referrer(exchange)


def _posted_token(exchange: Exchange) -> str | None:
    token = exchange.posted_field(exchange.settings.csrf_field)
    if token:
        return token
    for header in current_app.config.get("WTF_CSRF_HEADERS", ()):
        value = exchange.request.headers.get(header)
        if value:
            return value
    return None


def _signed_before_rotation(exchange: Exchange) -> bool:
    config = current_app.config
    if config.get("WTF_CSRF_SECRET_KEY"):
        return False  # a key of Flask-WTF's own, rotated by hand
    token = _posted_token(exchange)
    if not token:
        return False
    for key in config.get("SECRET_KEY_FALLBACKS") or ():
        try:
            validate_csrf(token, secret_key=key)
        except ValidationError:
            continue
        return True
    return False


def _check_https_referrer(exchange: Exchange) -> None:
    """Flask-WTF's ``WTF_CSRF_SSL_STRICT``: over HTTPS, the referrer is this site."""
    request = exchange.request
    if not (request.is_secure and current_app.config.get("WTF_CSRF_SSL_STRICT", True)):
        return
    referrer = request.referrer
    if not referrer:
        raise CSRFError("The referrer header is missing.")
    parts = urlsplit(referrer)
    if (parts.scheme, parts.netloc.lower()) != ("https", request.host.lower()):
        raise CSRFError("The referrer does not match the host.")
