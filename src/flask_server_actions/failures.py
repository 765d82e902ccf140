"""One table from every failure to the state the user sees.

A refusal in the guard (CSRF, origin, body, rate limit), an expected error the
action raised, a backend outage and a bug all become an :class:`ActionState`
here, whichever step met them, so each is worded and answered the same way in
every mode.

==============================  ======  ==========================================
failure                         status  the user reads
==============================  ======  ==========================================
``ActionError``                 its own its message, field errors beside fields
CSRF token missing or wrong     400     the form had expired
``CrossOriginRequest``          403     sent from another site
unreadable body                 400     could not be read (or: not valid text)
tampered bound arguments        400     out of date or changed
body too large                  413     larger than this form accepts (limit)
rate limit, too many streams    429     too many requests (limit), ``Retry-After``
``SubmissionInProgress``        409     already being submitted
backend down or busy            503     try again in N seconds, ``Retry-After``
other HTTP errors               theirs  a sentence for the status
anything else                   500     masked, with an error id that is logged
==============================  ======  ==========================================
"""

from __future__ import annotations

import logging
import secrets
import typing as t

from flask import current_app
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import TooManyRequests

from .errors import ActionError
from .errors import CrossOriginRequest
from .errors import ServiceUnavailable
from .errors import SubmissionInProgress
from .errors import TamperedArguments
from .errors import UnreadableBody
from .errors import describe
from .exchange import Exchange
from .exchange import Failure
from .limits import format_size
from .state import ActionState

logger = logging.getLogger("flask_server_actions")

#: Sentences for HTTP errors that carry no sentence of the toolkit's own.
_BY_STATUS: t.Final = {
    401: "sign_in",
    403: "forbidden",
    422: "invalid",
    429: "too_many",
    500: "failed",
}
#: Headers of an HTTP error that its answer in the form keeps.
_KEPT_HEADERS: t.Final = ("Retry-After", "Allow", "WWW-Authenticate")


def failure_state(exchange: Exchange, exc: BaseException) -> ActionState:
    """The state ``exc`` is answered with, in the form, in every mode."""
    say = exchange.app.messages
    if isinstance(exc, ActionError):
        exchange.headers.update(exc.headers)
        return ActionState.failure(
            exc.message, status=exc.code or 400, errors=exc.errors
        )
    if isinstance(exc, CSRFError):
        return ActionState.failure(say("csrf"), status=400)
    if isinstance(exc, CrossOriginRequest):
        return ActionState.failure(say("cross_origin"), status=403)
    if isinstance(exc, UnreadableBody):
        return ActionState.failure(say(exc.message_name), status=400)
    if isinstance(exc, TamperedArguments):
        return ActionState.failure(say("tampered"), status=400)
    if isinstance(exc, RequestEntityTooLarge):
        limit = exchange.request.max_content_length
        size = format_size(limit) if limit is not None else "?"
        return ActionState.failure(say("too_large", limit=size), status=413)
    if isinstance(exc, TooManyRequests):
        # Flask-Limiter's and the stream limits' own sentence, in the app's words.
        return ActionState.failure(describe(exc), status=429)
    if isinstance(exc, SubmissionInProgress):
        return ActionState.failure(say("in_progress"), status=409)
    if isinstance(exc, ServiceUnavailable):
        return unavailable_state(exchange, exc.seconds)
    if isinstance(exc, exchange.app.unavailable_errors):
        logger.warning("A backend is unavailable: %s", exc)
        return unavailable_state(exchange, exchange.settings.retry_after)
    if isinstance(exc, HTTPException):
        for name, value in exc.get_headers():
            if name in _KEPT_HEADERS:
                exchange.headers[name] = value
        status = exc.code or 400
        sentence = _BY_STATUS.get(status)
        return ActionState.failure(
            say(sentence) if sentence is not None else describe(exc), status=status
        )
    return masked_failure(exchange, exc)


def unavailable_state(exchange: Exchange, seconds: int) -> ActionState:
    """A 503 that says when to try again (and asks with ``Retry-After``)."""
    exchange.headers["Retry-After"] = str(seconds)
    return ActionState.failure(
        exchange.app.messages("unavailable", seconds=seconds),
        status=503,
        data={"retry_after": seconds},
    )


def masked_failure(exchange: Exchange, exc: BaseException) -> ActionState:
    """Log ``exc`` with a fresh error id and answer with a state that hides it."""
    endpoint = exchange.action.endpoint if exchange.action is not None else "?"
    error_id = secrets.token_hex(4)
    logger.error("Action %s failed (error id %s)", endpoint, error_id, exc_info=exc)
    exchange.failure = Failure(endpoint, error_id, exc)
    if current_app.debug:
        message = f"{type(exc).__name__}: {exc} (error id {error_id})"
    else:
        message = exchange.app.messages("failed_id", error_id=error_id)
    return ActionState.failure(message, status=500, data={"error_id": error_id})
