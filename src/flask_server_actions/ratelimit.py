"""Rate limits per action, counted by Flask-Limiter.

Each rate-limited action gets one check: a small function decorated with the
limiter's documented ``limit()`` decorator, which the pipeline calls at its place
in the guard. Keyed by the caller (see :mod:`~flask_server_actions.callers`),
or by what ``rate_limit_by=`` names.

The limiter the toolkit creates has its own headers off: a breach is answered by
the toolkit, in the form, with ``Retry-After`` of the limit; no other answer
carries the limiter's headers. When the store is down,
``SERVER_ACTIONS_RATELIMIT_FAIL`` decides: ``"open"`` (the default) lets requests
through and logs the error, ``"closed"`` refuses limited actions with a 503 in
the form, input kept, until the store is back.
"""

from __future__ import annotations

import logging
import math
import time
import typing as t

from flask import Flask
from flask import Response
from werkzeug.exceptions import TooManyRequests

from .callers import caller
from .callers import caller_address
from .errors import ServiceUnavailable
from .exchange import Exchange
from .exchange import current_exchange

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_limiter import Limiter

    from .appstate import AppState
    from .registry import ActionSpec

logger = logging.getLogger("flask_server_actions")


#: The Flask-Limiter key of a caller (kept under its earlier name).
rate_limit_key = caller


def create_limiter(app: Flask, state: AppState) -> Limiter:
    """A Limiter for ``app``'s actions, with its own headers off."""
    # Imported with the first rate-limited action: Flask-Limiter and its store
    # drivers weigh about 4 MB, which an app without rate limits does not carry.
    from flask_limiter import Limiter

    settings = state.settings
    storage = settings.ratelimit_storage_uri
    options: dict[str, t.Any] = {}
    if storage.startswith(("redis://", "rediss://", "redis+unix://")):
        # A store that has gone away must fail fast, not hang the worker.
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # No default limits: only actions that declare rate_limit= are limited.
    return Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=storage,
        storage_options=options,
        headers_enabled=False,
        # Fail open: a broken store lets requests through (and is logged).
        swallow_errors=settings.ratelimit_fail == "open",
    )


def check_rate_limit_by(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse a ``rate_limit_by=`` the limiter could not count by."""
    for key in keys:
        if key not in ("user", "address") and not (
            key.startswith("field:") and len(key) > len("field:")
        ):
            raise ValueError(
                f"rate_limit_by={key!r}: use 'user', 'address' or 'field:<name>'."
            )
    if not keys:
        raise ValueError("rate_limit_by needs at least one key.")
    return keys


def _key_function(by: str) -> t.Callable[[], str]:
    if by == "user":
        return caller
    if by == "address":
        return caller_address
    name = by.removeprefix("field:")

    def posted_value() -> str:
        # Normalised as people type it (" Ann@Example.com " is ann@example.com);
        # an empty value still counts, under a key of its own.
        value = current_exchange().posted_field(name) or ""
        return f"{by}:{value.strip().lower() or '-'}"

    return posted_value


def _applied(response: Response) -> bool:
    """Flask-Limiter's ``deduct_when``: the answer is a submission the action applied."""
    return (
        response.status_code < 400 and "X-Submission-Replayed" not in response.headers
    )


def install_rate_check(
    app: Flask, state: AppState, endpoint: str, act: ActionSpec
) -> None:
    """Give ``act``, registered as ``endpoint``, its rate-limit checks on ``app``.

    Its validation checks get their own, under ``<endpoint>:validate``,
    counted by what the action is counted by (per caller by default; also per
    ``field:email`` when the action is), so that checks spread over many
    addresses cannot ask about one account more often than that rate either.
    """
    checks_rate = act.validate_rate_limit or (
        state.settings.validate_rate_limit if act.rate_limit is not None else None
    )
    if checks_rate is not None:
        # The action's own keys (``("user",)`` by default): "user" and
        # "address" beside each other would count an anonymous caller twice.
        checks_by = act.rate_limit_by if act.rate_limit is not None else ("user",)
        _install(app, state, f"{endpoint}:validate", act, checks_rate, checks_by, None)
    if act.rate_limit is not None:
        applied = _applied if act.rate_limit_counts == "applied" else None
        _install(app, state, endpoint, act, act.rate_limit, act.rate_limit_by, applied)


def _install(
    app: Flask,
    state: AppState,
    endpoint: str,
    act: ActionSpec,
    rate: str | t.Callable[[], str],
    keys: tuple[str, ...],
    deduct_when: t.Callable[[Response], bool] | None,
) -> None:
    if state.limiter is None:
        state.limiter = create_limiter(app, state)
    messages = state.messages
    checks = []
    limiter = state.limiter
    for by in keys:

        def check() -> None:
            """Reaching the body means the limit was not breached."""

        # Flask-Limiter files a decorated function's limits under its qualified name.
        check.__module__ = act.func.__module__
        check.__name__ = check.__qualname__ = f"{endpoint}:rate_limit:{by}"
        checks.append(
            limiter.limit(
                rate,
                key_func=_key_function(by),
                # A bucket of its own: without it, Flask-Limiter files every
                # check of one request under the request's endpoint, so
                # "user" and "address" (the same key for a visitor), or checks
                # and submits at the same rate, would share one count.
                scope=check.__name__,
                deduct_when=deduct_when,
                error_message=lambda: messages(
                    "too_many_limit", limit=rate() if callable(rate) else rate
                ),
            )(check)
        )
    state.rate_checks[endpoint] = checks


def check_rate_limit(exchange: Exchange, endpoint: str) -> None:
    """Count this request against its action's limits.

    Raises Flask-Limiter's ``RateLimitExceeded`` (a 429) on a breach, with
    ``Retry-After`` set on the exchange, and :class:`ServiceUnavailable` when the
    store is down and ``SERVER_ACTIONS_RATELIMIT_FAIL`` is ``"closed"``.
    """
    for check in exchange.app.rate_checks.get(endpoint, ()):
        try:
            check()
        except TooManyRequests:  # Flask-Limiter's RateLimitExceeded
            exchange.headers["Retry-After"] = str(_seconds_to_reset(exchange))
            raise
        except Exception as exc:
            # Anything else the check raises is the store failing.
            if exchange.settings.ratelimit_fail == "open":
                logger.warning("Rate-limit store unavailable, letting through: %s", exc)
                return
            logger.warning("Rate-limit store unavailable, refusing: %s", exc)
            raise ServiceUnavailable(exchange.settings.retry_after) from exc


def _seconds_to_reset(exchange: Exchange) -> int:
    limiter = exchange.app.limiter
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 1
    return max(1, math.ceil(current.reset_at - time.time()))
