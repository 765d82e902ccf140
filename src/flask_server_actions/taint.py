"""Secrets stay on the server: values that refuse to be rendered or serialised.

The seeds' ``experimental_taintObjectReference`` and
``experimental_taintUniqueValue``, for Jinja and JSON:

- :class:`Secret` wraps a value (``secret(user.password_hash)``); rendering it
  into a template, formatting it into a string or serialising it to JSON
  raises :exc:`TaintedValueError` in debug mode and tests. Code that needs the
  value asks for it with :meth:`Secret.reveal`.
- :func:`taint` marks a unique value (an API key, a token) of the app: in debug
  mode and tests a template expression that renders it raises, and every
  outgoing text response is scanned for it.

In production nothing raises (a page must not break for it). A :class:`Secret`
renders as :data:`REDACTED` and the attempt is logged: it is an object the app
wrapped, never something a user typed. A tainted *value* is only a string, and
a user can type the same string (store a guessed ``SECRET_KEY`` as a to-do): if
that came back as ``[redacted]``, the page would confirm the guess. So value
taints guard development and tests only, where a leak in the app's own code
shows up first; in production they are rendered as they are.
"""

from __future__ import annotations

import logging
import typing as t

from flask import Flask
from flask import current_app
from flask import has_app_context
from werkzeug.wrappers import Response

from .appstate import app_state
from .errors import TaintedValueError

logger = logging.getLogger("flask_server_actions")

_T = t.TypeVar("_T")

#: What a secret renders as in production.
REDACTED: t.Final = "[redacted]"
#: Shorter values would match ordinary text; taint only unique ones.
MIN_UNIQUE_LENGTH: t.Final = 8


def _strict() -> bool:
    """Raise (development, tests) rather than redact (production)?"""
    if not has_app_context():
        return True
    return bool(current_app.debug or current_app.testing)


def _refuse(message: str) -> str:
    if _strict():
        raise TaintedValueError(message)
    logger.error("Refused to send a secret value: %s", message)
    return REDACTED


def _refuse_value(value: str, message: str) -> str:
    """A tainted string: refused in debug and tests, as it is in production.

    Redacting it in production would tell a user who typed it that they guessed
    a secret (see the module's docstring).
    """
    if _strict():
        raise TaintedValueError(message)
    return value


class Secret(t.Generic[_T]):
    """A value that must never reach a template, a JSON body or a log line.

    ::

        token = secret(os.environ["PAYMENT_TOKEN"], "The payment token")
        charge(token.reveal())  # fine: server-side code
        render_template("x.html", token=token)  # {{ token }} raises in tests

    .. versionadded:: 0.1
    """

    __slots__ = ("_message", "_value")

    def __init__(self, value: _T, message: str = "This value is secret") -> None:
        self._value = value
        self._message = message

    def reveal(self) -> _T:
        """The value itself, for server-side code that needs it."""
        return self._value

    # Jinja's autoescape and Flask's JSON provider both call __html__.
    def __html__(self) -> str:
        return _refuse(self._message)

    def __str__(self) -> str:
        return _refuse(self._message)

    def __format__(self, spec: str) -> str:
        return _refuse(self._message)

    def __repr__(self) -> str:
        # Tracebacks and debuggers call repr: say what it is, never the value.
        return f"<Secret: {self._message}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return bool(self._value == other._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)


def secret(value: _T, message: str = "This value is secret") -> Secret[_T]:
    """Wrap ``value`` so that rendering or serialising it fails loudly.

    :param message: says what the value is, for the error.

    .. versionadded:: 0.1
    """
    return Secret(value, message)


def taint(value: str | bytes, message: str, *, app: Flask | None = None) -> None:
    """Mark a unique ``value`` of the app (a key, a token) as never to be sent.

    A template expression whose result is the value raises
    :exc:`TaintedValueError` in debug mode and tests (and renders
    :data:`REDACTED` in production); in debug mode and tests every text
    response is also scanned for it.

    :param message: says what the value is, for the error.
    :param app: the app (default: the current one); ``ServerActions`` must be
        set up on it first.

    .. versionadded:: 0.1
    """
    text = value.decode() if isinstance(value, bytes) else value
    if len(text) < MIN_UNIQUE_LENGTH:
        raise ValueError(
            f"Only unique values of {MIN_UNIQUE_LENGTH} characters or more can be"
            " tainted: a shorter one would match ordinary text."
        )
    app_state(app).taints[text] = message


def finalize(value: t.Any) -> t.Any:
    """Refuse a tainted value before Jinja writes it out.

    The toolkit installs a faster equivalent as the app's Jinja ``finalize``; an
    app that has its own ``finalize`` calls this one from it.
    """
    if type(value) is str and has_app_context():
        message = app_state().taints.get(value)
        if message is not None:
            return _refuse_value(value, message)
    return value


def _finalize_for(taints: t.Mapping[str, str]) -> t.Callable[[t.Any], t.Any]:
    """Jinja's ``finalize`` for one app: refuse a tainted value before it is written out.

    It runs for every expression of every template, so it holds the app's
    taints itself rather than looking the app up each time.
    """

    def finalize(value: t.Any) -> t.Any:
        if type(value) is str and value in taints:
            return _refuse_value(value, taints[value])
        return value

    return finalize


def _scanner_for(
    app: Flask, taints: t.Mapping[str, str]
) -> t.Callable[[Response], Response]:
    def scan_response(response: Response) -> Response:
        """In debug mode and tests, refuse a text response that contains a taint."""
        if not taints or not (app.debug or app.testing):
            return response
        if response.direct_passthrough or response.is_streamed:
            return response
        if response.mimetype not in ("application/json", "text/html", "text/plain"):
            return response
        body = response.get_data(as_text=True)
        for value, message in taints.items():
            if value in body:
                raise TaintedValueError(message)
        return response

    return scan_response


def install(app: Flask, taints: t.Mapping[str, str]) -> None:
    """Hook taint checks of ``taints`` into ``app``'s templates and responses."""
    if app.jinja_env.finalize is not None:
        raise RuntimeError(
            "The app's Jinja environment already has a finalize function; taint"
            " checks need their own. Call flask_server_actions.taint.finalize from"
            " yours, set up after ServerActions(app)."
        )
    app.jinja_env.finalize = _finalize_for(taints)
    app.after_request(_scanner_for(app, taints))


__all__: t.Final = [
    "REDACTED",
    "Secret",
    "finalize",
    "install",
    "secret",
    "taint",
]
