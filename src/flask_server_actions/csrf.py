"""The CSRF check of an action: Flask-WTF's, plus forms signed before a key rotation.

Flask-WTF checks the token with the current ``SECRET_KEY`` only, so after a
rotation (the old key moved to ``SECRET_KEY_FALLBACKS``) every form already on
screen would fail, although Flask keeps its sessions. A token that the current
key refuses is tried with each fallback key, with Flask-WTF's own
``validate_csrf``, and Flask-WTF's HTTPS referrer rule still applies.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from flask import current_app
from flask import session
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import generate_csrf
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


#: Signed tokens kept for reuse, per (secret key, session's raw token): signing
#: one costs more than the rest of a small form's markup.
_SIGNED: OrderedDict[tuple[object, str], tuple[str, float]] = OrderedDict()
_SIGNED_MAX = 4096
_SIGNED_LOCK = threading.Lock()
#: Reuse a signed token for at most this long (seconds), and never for more
#: than 1 % of ``WTF_CSRF_TIME_LIMIT``: a form's token then lasts about 99 % of
#: the configured time (itsdangerous counts whole seconds).
REUSE_SECONDS = 60.0


def form_token(exchange: Exchange) -> str:
    """The signed CSRF token for this request's forms (Flask-WTF's ``generate_csrf``).

    Flask-WTF signs the session's raw token anew on every request; the answer
    of an action and the next page of the same session get the same signed
    token for up to :data:`REUSE_SECONDS` instead. The token is the same kind
    Flask-WTF makes, checked by Flask-WTF as before.
    """
    if exchange.csrf_token is not None:
        return exchange.csrf_token
    config = current_app.config
    field = exchange.settings.csrf_field
    raw = session.get(field)
    limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
    reuse = REUSE_SECONDS if limit is None else min(REUSE_SECONDS, limit / 100)
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    now = time.monotonic()
    if isinstance(raw, str) and reuse > 0:
        with _SIGNED_LOCK:
            kept = _SIGNED.get((secret, raw))
        if kept is not None and now - kept[1] < reuse:
            exchange.csrf_token = kept[0]
            return kept[0]
    token = str(generate_csrf())
    raw = session.get(field)
    if isinstance(raw, str) and reuse > 0:
        with _SIGNED_LOCK:
            _SIGNED[(secret, raw)] = (token, now)
            _SIGNED.move_to_end((secret, raw))
            while len(_SIGNED) > _SIGNED_MAX:
                _SIGNED.popitem(last=False)
    exchange.csrf_token = token
    return token


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
