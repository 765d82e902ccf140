"""Backends that are down or busy: which errors mean 503, and how long to wait."""

from __future__ import annotations

import typing as t

from flask import current_app

from .cache import CacheUnavailable
from .errors import ServiceUnavailable
from .errors import describe
from .state import ActionState

if t.TYPE_CHECKING:  # pragma: no cover
    pass


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The exception classes that mean "a backend is down or busy" (503)."""
    ext = current_app.extensions.get("server_actions")
    return (CacheUnavailable, *getattr(ext, "unavailable_errors", ()))


def retry_after_seconds() -> int:
    """How long a 503 asks the client to wait (``SERVER_ACTIONS_RETRY_AFTER``)."""
    return int(current_app.config.get("SERVER_ACTIONS_RETRY_AFTER", 5))


def unavailable_state(exc: ServiceUnavailable) -> ActionState:
    return ActionState.failure(
        describe(exc), status=503, data={"retry_after": exc.seconds}
    )
