"""Arguments bound into a form on the server, signed so the client cannot change them.

React encrypts the closure variables of an inline server action; here the values a
form or button carries (the id of the row a delete button belongs to) are signed
with the app's secret and bound to one action, so they cannot be altered or
replayed on another action.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from flask import current_app
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer

from .errors import TamperedArguments

_SALT: t.Final = "flask-server-actions.bound-arguments"


def _serializer() -> URLSafeTimedSerializer:
    # The newest key signs; the fallbacks (Flask's SECRET_KEY_FALLBACKS) still
    # verify, so rotating the secret does not break forms already on screen.
    keys = [
        *(current_app.config.get("SECRET_KEY_FALLBACKS") or []),
        current_app.secret_key,
    ]
    return URLSafeTimedSerializer([k for k in keys if k], salt=_SALT)


def sign_arguments(endpoint: str, values: Mapping[str, t.Any]) -> str:
    """Sign ``values`` for the action ``endpoint``."""
    return _serializer().dumps({"a": endpoint, "v": dict(values)})


def verify_arguments(
    endpoint: str, token: str | None, names: t.Iterable[str], *, max_age: int
) -> dict[str, t.Any]:
    """The values signed for ``endpoint``; raise :class:`TamperedArguments` otherwise."""
    if not token:
        raise TamperedArguments()
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except BadData as exc:
        raise TamperedArguments() from exc
    if not isinstance(payload, dict) or payload.get("a") != endpoint:
        raise TamperedArguments()
    values = payload.get("v")
    if not isinstance(values, dict) or set(values) != set(names):
        raise TamperedArguments()
    return values
