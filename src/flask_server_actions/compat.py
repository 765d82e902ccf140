"""The only module that touches what Flask and Werkzeug do not document or are changing.

Each shim names the versions it covers and has a test (``tests/test_compat.py``).
Everything else in the package uses public APIs only.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import typing as t
from urllib.parse import parse_qsl

from flask import Flask
from flask import Request
from flask import current_app
from flask import g
from flask.globals import app_ctx
from flask.globals import request_ctx
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

# Werkzeug's sans-IO multipart parser, used to check a body before Werkzeug's own
# parser (which leaves temporary files open when it stops halfway) reads it.
# Present and unchanged in Werkzeug 2.2 to 3.1.
from werkzeug.sansio.multipart import Data as MultipartData
from werkzeug.sansio.multipart import Epilogue as MultipartEpilogue
from werkzeug.sansio.multipart import Field as MultipartField
from werkzeug.sansio.multipart import File as MultipartFile
from werkzeug.sansio.multipart import MultipartDecoder
from werkzeug.sansio.multipart import NeedData as MultipartNeedData

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.typing import ResponseReturnValue
    from werkzeug.routing import MapAdapter


@functools.cache
def _takes_app_context(method: t.Callable[..., t.Any]) -> bool:
    """Whether a ``Flask`` method has the 3.2 signature (``ctx`` first).

    Flask 3.2 (unreleased, on main) passes the current ``AppContext`` as the
    first argument of the methods involved in dispatch (``update_template_context``,
    ``handle_http_exception``, …); 3.0 and 3.1 take only the method's own argument.
    """
    # Unbound, so ``self`` counts: (self, ctx, argument).
    return len(inspect.signature(method).parameters) == 3


def _current_app_context() -> t.Any:
    # ``flask.globals.app_ctx`` is a proxy in every Flask 3.x; 3.2 wants the object.
    return t.cast(t.Any, app_ctx)._get_current_object()


def update_template_context(app: Flask, context: dict[str, t.Any]) -> None:
    """Run ``app``'s context processors into ``context``, as ``render_template`` does.

    Flask 3.0/3.1: ``update_template_context(context)``; 3.2:
    ``update_template_context(ctx, context)``.
    """
    method: t.Any = type(app).update_template_context
    if _takes_app_context(method):
        method(app, _current_app_context(), context)
    else:
        method(app, context)


def request_url_adapter(app: Flask, request: Request) -> MapAdapter | None:
    """The URL adapter Flask bound to ``request`` when it began, else a new one.

    Flask 3.0/3.1 keep it on the request context as ``url_adapter`` (3.2 on the
    context that ``request_ctx`` still names). Binding another costs a
    ``Map.bind_to_environ`` per call, for the same adapter.
    """
    ctx = t.cast(t.Any, request_ctx)._get_current_object()
    adapter = getattr(ctx, "url_adapter", None)
    if adapter is None or getattr(ctx, "request", None) is not request:
        adapter = app.create_url_adapter(request)
    return t.cast("MapAdapter | None", adapter)


def handle_http_exception(
    app: Flask, exc: HTTPException
) -> HTTPException | ResponseReturnValue:
    """The app's own answer to ``exc`` (its ``errorhandler``), or ``exc`` without one.

    Flask 3.0/3.1: ``handle_http_exception(e)``; 3.2: ``handle_http_exception(ctx, e)``.
    """
    method: t.Any = type(app).handle_http_exception
    if _takes_app_context(method):
        return t.cast(
            "HTTPException | ResponseReturnValue",
            method(app, _current_app_context(), exc),
        )
    return t.cast("HTTPException | ResponseReturnValue", method(app, exc))


@contextlib.contextmanager
def query_string_of(request: Request, path: str) -> t.Iterator[None]:
    """Make ``request.args`` the query string of ``path`` inside the block.

    A page view re-rendered after an action must see the query of the page the
    form came from (the same search), not the POST URL's. ``Request.args`` is a
    ``cached_property`` of Werkzeug 2.x and 3.x, kept in the instance's
    ``__dict__``; setting it there is what the property's own cache does.
    """
    missing = object()
    saved = request.__dict__.get("args", missing)
    query = path.partition("?")[2]
    request.__dict__["args"] = ImmutableMultiDict(
        parse_qsl(query, keep_blank_values=True)
    )
    try:
        yield
    finally:
        if saved is missing:
            request.__dict__.pop("args", None)
        else:
            request.__dict__["args"] = saved


@contextlib.contextmanager
def signed_in_as(user: t.Any | None) -> t.Iterator[None]:
    """Be ``user`` (Flask-Login) inside the block, and nobody's afterwards.

    An anonymous ``user`` (not ``is_authenticated``) signs out for the block.

    ``login_user`` keeps the user in ``g._login_user`` (Flask-Login 0.6). Flask
    3.0/3.1 reuse an application context that is already pushed for a request
    context pushed inside it, so without this the user would stay signed in for
    every later request of a test that holds the app context open. ``None``
    changes nothing.
    """
    if user is None:
        yield
        return
    signed_in = bool(getattr(user, "is_authenticated", False))
    if getattr(current_app, "login_manager", None) is None:
        if signed_in:
            raise RuntimeError(
                "Acting as a signed-in user needs Flask-Login: set up a LoginManager"
                " on the app."
            )
        yield  # without Flask-Login everyone is anonymous already
        return
    from flask_login import login_user  # the app set up Flask-Login (checked above)
    from flask_login import logout_user

    missing = object()
    saved = g.get("_login_user", missing)
    if signed_in:
        login_user(user, force=True)
    else:
        logout_user()
    try:
        yield
    finally:
        if saved is missing:
            g.pop("_login_user", None)
        else:
            g._login_user = saved


def forget_earlier_user(_sender: Flask, **_extra: t.Any) -> None:
    """``request_started`` receiver: each request loads its own Flask-Login user.

    Flask-Login 0.6 keeps the request's user in ``g._login_user``. Flask 3.0 and
    3.1 reuse an application context that is already pushed (a test holding one
    open), so every later request would be the first one's user, whatever its
    session says. Flask 3.2 pushes a new context per request; this is then a no-op.
    """
    g.pop("_login_user", None)


def cachelib_timeout(cache: t.Any, timeout: t.Any) -> int:
    """cachelib's own reading of a ``timeout``: ``None`` is the cache's default,
    ``0`` never expires (-1 then), a timedelta or a fraction whole seconds.

    ``_normalize_timeout`` is not documented (checked with cachelib 0.17).
    """
    return int(cache._normalize_timeout(timeout))


__all__ = [
    "MultipartData",
    "MultipartDecoder",
    "MultipartEpilogue",
    "MultipartField",
    "MultipartFile",
    "MultipartNeedData",
    "cachelib_timeout",
    "forget_earlier_user",
    "handle_http_exception",
    "query_string_of",
    "signed_in_as",
    "update_template_context",
]
