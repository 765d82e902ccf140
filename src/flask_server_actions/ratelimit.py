"""Rate limits per action, delegated to Flask-Limiter.

Keyed by the signed-in user, else by the client's address. Behind proxies, set
``SERVER_ACTIONS_TRUSTED_PROXIES`` to how many of them add to ``X-Forwarded-For``;
only those entries are believed, so a client cannot forge its address.

When the store is down, ``SERVER_ACTIONS_RATELIMIT_FAIL`` decides: ``"open"``
(the default) lets requests through and logs the error, ``"closed"`` refuses
limited actions with a 503 in the form, input kept, until the store is back.
"""

from __future__ import annotations

import functools
import logging
import typing as t

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_limiter import Limiter
from werkzeug.exceptions import HTTPException

from .errors import ServiceUnavailable
from .policies import current_user

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.sansio.blueprints import BlueprintSetupState

    from .actions import Action


def client_address() -> str:
    """The client's address, believing only as many proxies as configured."""
    trusted = int(current_app.config["SERVER_ACTIONS_TRUSTED_PROXIES"])
    if trusted > 0:
        forwarded = [
            part.strip()
            for part in request.headers.get("X-Forwarded-For", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return request.remote_addr or "unknown"


def rate_limit_key() -> str:
    """``user:<id>`` for a signed-in user, else ``addr:<client address>``."""
    user = current_user()
    if getattr(user, "is_authenticated", False):
        return f"user:{user.get_id()}"
    return f"addr:{client_address()}"


logger = logging.getLogger("flask_server_actions")

#: Where the app keeps the Limiter that actions use.
LIMITER_KEY: t.Final = "server_actions_limiter"


def create_limiter(app: Flask) -> Limiter:
    """The app's Limiter: the one already set up, or one for actions only."""
    # Flask-Limiter keeps a set of limiters in app.extensions["limiter"].
    existing = next(iter(app.extensions.get("limiter") or ()), None)
    if isinstance(existing, Limiter):
        app.extensions[LIMITER_KEY] = existing
        keep_own_retry_after(app)
        return existing
    storage = app.config["SERVER_ACTIONS_RATELIMIT_STORAGE_URI"] or app.config.get(
        "RATELIMIT_STORAGE_URI"
    )
    if not storage:
        redis_url = app.config.get("SERVER_ACTIONS_REDIS_URL")
        storage = (
            redis_url
            if app.config["SERVER_ACTIONS_CACHE"] == "redis" and redis_url
            else "memory://"
        )
    fail = app.config["SERVER_ACTIONS_RATELIMIT_FAIL"]
    if fail not in ("open", "closed"):
        raise ValueError(
            f"SERVER_ACTIONS_RATELIMIT_FAIL must be 'open' or 'closed', not {fail!r}."
        )
    options: dict[str, t.Any] = {}
    if storage.startswith(("redis://", "rediss://", "redis+unix://")):
        # A store that has gone away must fail fast, not hang the worker.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # No default limits: only actions that declare rate_limit= are limited.
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=storage,
        storage_options=options,
        headers_enabled=True,
        # Fail open: a broken store lets requests through (and is logged).
        swallow_errors=fail == "open",
    )
    app.extensions[LIMITER_KEY] = limiter
    keep_own_retry_after(app)
    return limiter


def keep_own_retry_after(app: Flask) -> None:
    """Let ``Retry-After`` mean the answer's own wait, not the rate-limit window.

    With its headers on, Flask-Limiter sets ``Retry-After`` on every answer of
    a limited view to when the window resets: a 200 would say "retry in 59 s",
    and a 503 that says "try again in 5 seconds" would say 60 in its header.
    Only a 429 is about the limit; any other answer keeps what the app set.
    """
    funcs = app.after_request_funcs.setdefault(None, [])

    def remember(response: Response) -> Response:
        g._server_actions_retry_after = response.headers.get("Retry-After")
        return response

    def restore(response: Response) -> Response:
        if response.status_code == 429 or "_server_actions_retry_after" not in g:
            return response
        own = g._server_actions_retry_after
        if own is None:
            response.headers.pop("Retry-After", None)
        else:
            response.headers["Retry-After"] = own
        return response

    # Flask runs these in reverse: remember before the limiter's hook (added
    # just before this), restore after every other hook.
    funcs.append(remember)
    funcs.insert(0, restore)


def limit_action(state: BlueprintSetupState, act: Action) -> None:
    """Wrap the action's view in its Flask-Limiter limit, once its app is known."""
    if act.rate_limit is None:
        return
    app = state.app
    limiter = app.extensions.get(LIMITER_KEY)
    if not isinstance(limiter, Limiter):
        raise RuntimeError(
            f"Action {act.endpoint} has rate_limit={act.rate_limit!r}: set up"
            " ServerActions(app) before registering its blueprint."
        )
    endpoint = f"{state.name_prefix}.{state.name}.{act.name}".lstrip(".")
    view = app.view_functions[endpoint]
    rate = act.rate_limit

    @functools.wraps(view)
    def counted(*args: t.Any, **kwargs: t.Any) -> t.Any:
        # Reaching the view means the limiter's store answered.
        g._server_actions_limit_checked = True
        return view(*args, **kwargs)

    limited = limiter.limit(
        rate,
        key_func=rate_limit_key,
        error_message=lambda: _message(rate() if callable(rate) else rate),
    )(counted)
    app.view_functions[endpoint] = _refuse_when_store_fails(limited, view)


def _refuse_when_store_fails(
    limited: t.Callable[..., t.Any], view: t.Callable[..., t.Any]
) -> t.Callable[..., t.Any]:
    """Fail closed: a store error before the view runs becomes a 503 in the form.

    (Failing open needs nothing here: Flask-Limiter swallows the error.)
    """
    from .outages import retry_after_seconds
    from .responses import respond_to_http_error

    @functools.wraps(view)
    def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
        g._server_actions_limit_checked = False
        try:
            return limited(*args, **kwargs)
        except HTTPException:
            raise
        except Exception as exc:
            if g.get("_server_actions_limit_checked", True):
                raise
            logger.warning("Rate-limit store unavailable, refusing: %s", exc)
            return respond_to_http_error(ServiceUnavailable(retry_after_seconds()))

    return guarded


def _message(rate: str) -> str:
    return (
        f"Too many requests (the limit is {rate}). Please wait a moment and try again."
    )
